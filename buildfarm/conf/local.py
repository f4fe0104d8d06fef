"""Options of the local driver (all-in-one mode: jobs run on this host)."""

from oslo_config import cfg

GROUP = 'local'

opts = [
    cfg.StrOpt('job_uids', default='61000-61999',
               help='Range of uids, as START-END (for example '
                    '61000-61999), from which the local driver gives each '
                    'node a uid of its own: the job runs as that uid and '
                    'group, in a workspace only it can enter; every '
                    'process of that uid is killed when the job ends, and '
                    'what it left in /tmp, /var/tmp, /dev/shm and System V '
                    'IPC is removed before the uid is used again. Use '
                    'uids no one else on this host uses (they need no '
                    'passwd entry); a uid that owns a process is never '
                    'given out. Needs a controller running as root: '
                    'otherwise local jobs run as the controller\'s own '
                    'user, are not isolated from each other or from the '
                    'controller, and a warning says so.'),
]


def register_opts(conf):
    conf.register_opts(opts, group=GROUP)


def list_opts():
    return {GROUP: opts}
