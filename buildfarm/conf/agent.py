"""Options of the agent that runs inside a node.

The controller writes ``node_id`` and ``node_secret`` into the agent's
configuration file when it boots a node; operators rarely set them.
"""

from oslo_config import cfg

GROUP = 'agent'

opts = [
    cfg.StrOpt('node_id',
               help='Identity of this node, given by the controller.'),
    cfg.StrOpt('node_secret', secret=True,
               help='Bootstrap secret of this node, given by the '
                    'controller: it signs the node\'s registration, once; '
                    'every later message uses the session key the '
                    'controller answers with, kept in memory only.'),
    cfg.StrOpt('controller_topic', default='buildfarm-controller-nodes',
               help='RPC topic of the agent API of the controller that '
                    'booted this node.'),
    cfg.BoolOpt('remove_config', default=True,
                help='Delete the configuration files once read: what they '
                     'hold (the broker account, the bootstrap secret, the '
                     'boot job) is for the agent only, and read once.'),
    cfg.StrOpt('job_user', default='buildfarm',
               help='Unprivileged user that runs job commands: a name, or '
                    'a bare uid that needs no passwd entry (the job then '
                    'runs as that uid and group; the local driver gives '
                    'each node one). Used when the agent runs as root; '
                    'otherwise jobs run as the agent\'s own user. Every '
                    'process of this user is killed when a job\'s command '
                    'ends: no other program may run as it.'),
    cfg.StrOpt('workspace', default='/var/lib/buildfarm-agent',
               help='Directory under which the agent makes one workspace '
                    'per job.'),
    cfg.IntOpt('max_log_bytes', default=10 * 1024 * 1024, min=1024,
               help='Bytes of job output kept per job; the rest is '
                    'dropped and the log says so.'),
    cfg.FloatOpt('log_flush_interval', default=0.2, min=0.01,
                 help='Seconds between two log chunks sent to the '
                      'controller while output flows.'),
    cfg.IntOpt('lease', default=300, min=1,
               help='Seconds without any answer from the controller after '
                    'which the agent stops its job and ends its node.'),
    cfg.FloatOpt('heartbeat_interval', default=10.0, min=0.1,
                 help='Seconds between two heartbeats (with jitter).'),
    cfg.IntOpt('clone_timeout', default=600, min=1,
               help='Seconds a clone may take.'),
    cfg.FloatOpt('kill_grace', default=5.0, min=0,
                 help='Seconds between SIGTERM and SIGKILL when a job\'s '
                      'processes are stopped.'),
    cfg.IntOpt('report_timeout', default=600, min=1,
               help='Seconds the agent keeps resending its final report '
                    'until the controller acknowledges it.'),
    cfg.StrOpt('ca_bundle',
               help='Path, inside the node, of the CA bundle jobs and '
                    'clones trust. Set by the node driver from [node] '
                    'ca_bundle.'),
    cfg.StrOpt('boot_job', secret=True,
               help='The job this node was booted for, as JSON: the agent '
                    'starts it at once instead of waiting to be given a '
                    'job. Set by the controller.'),
    cfg.StrOpt('packs_dir', default='/opt/buildfarm/packs',
               help='Directory of the language packs build_image jobs use, '
                    'one directory per pack (elements/lp-*/static puts '
                    'them there).'),
    cfg.StrOpt('runtime_archive',
               help='"docker save" archive of the runtime image that '
                    'build_image jobs build apps on. Set by the node '
                    'driver.'),
    cfg.StrOpt('job_env', default='{}',
               help='Environment given to every job by the controller '
                    '(mirrors, proxies), as a JSON object.'),
]


def register_opts(conf):
    conf.register_opts(opts, group=GROUP)


def list_opts():
    return {GROUP: opts}
