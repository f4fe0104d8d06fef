from oslo_config import cfg

GROUP = 'controller'

opts = [
    cfg.StrOpt('controller_id', default='buildfarm',
               help='Name of this controller. It is written as owner '
                    'metadata on every node the controller creates, so '
                    'that several controllers can share one cloud.'),
    cfg.StrOpt('topic', default='buildfarm-controller',
               help='RPC topic the controller listens on. Its callers and '
                    'its agents use the same topic; give each controller '
                    'group on a shared broker its own.'),
    cfg.StrOpt('driver', default='docker',
               help='Node driver: docker, local (all-in-one mode) or fake '
                    '(unit tests). Drivers are found through the '
                    '"buildfarm.drivers" entry point group.'),
    cfg.StrOpt('log_dir', default='/var/lib/buildfarm/logs',
               help='Directory where job logs are stored, one file a job.'),
    cfg.StrOpt('pools_file',
               help='YAML file of labels and their pools (see '
                    'buildfarm/controller/pools.py). Without it there is '
                    'one label, "default", made of the options below and '
                    'of [docker].'),
    cfg.StrOpt('default_label',
               help='Label of jobs that name none (default: the first '
                    'label).'),
    cfg.IntOpt('min_ready', default=0, min=0,
               help='Default label: booted, registered, idle nodes kept '
                    'waiting for jobs.'),
    cfg.IntOpt('max_nodes', default=10, min=1,
               help='Default label: most nodes at once; further jobs '
                    'wait in order.'),
    cfg.IntOpt('max_concurrent_boots', default=4, min=1,
               help='Default label: how many nodes may be booting at the '
                    'same time.'),
    cfg.IntOpt('boot_timeout', default=120, min=1,
               help='Default label: seconds a node may take from boot '
                    'until its agent registers; past that it is destroyed '
                    'and another is booted.'),
    cfg.IntOpt('max_attempts', default=3, min=1,
               help='Nodes a job may be given: when its node dies or '
                    'fails to boot, the job is retried on a fresh node '
                    'until this many attempts, then ends with '
                    'node_failure.'),
    cfg.IntOpt('reap_interval', default=60, min=1,
               help='Seconds between two searches for leaked nodes '
                    '(resources with this controller\'s owner tag that '
                    'its database does not know); a leak is deleted on '
                    'its second sighting.'),
    cfg.IntOpt('quota_backoff', default=30, min=1,
               help='Seconds to wait before booting again on a label '
                    'whose driver reported a quota error.'),
    cfg.IntOpt('heartbeat_timeout', default=60, min=1,
               help='Seconds without a heartbeat after which a node is '
                    'considered dead and its job ends with node_failure.'),
    cfg.FloatOpt('node_heartbeat_interval', default=10.0, min=0.1,
                 help='Seconds between two heartbeats of an agent.'),
    cfg.IntOpt('node_lease', default=300, min=10,
               help='Seconds an agent may go without reaching the '
                    'controller; past that it stops its job and ends its '
                    'own node (dead-man switch).'),
    cfg.IntOpt('monitor_interval', default=2, min=1,
               help='Seconds between two checks of booting and running '
                    'nodes (boot timeouts, dead nodes, deadlines).'),
    cfg.IntOpt('cancel_grace', default=30, min=1,
               help='Seconds the controller waits for an agent to report '
                    'a cancelled or timed-out job before ending it '
                    'itself and destroying the node.'),
    cfg.StrOpt('node_secret_key', secret=True,
               help='Key from which every node\'s bootstrap secret and '
                    'session key are derived. Set it so that agents stay '
                    'trusted across a controller restart; if unset, a '
                    'random key is made at start.'),
    cfg.StrOpt('node_transport_url', secret=True,
               help='Broker URL on which the controller serves the agent '
                    'API: the nodes\' vhost ([node] transport_url) with '
                    'the controller\'s own account there (the nodes\' '
                    'account may not consume the controller\'s queue). '
                    'Defaults to [node] transport_url, else the '
                    'controller\'s transport_url.'),
    cfg.ListOpt('allowed_local_repo_dirs', default=[],
                help='Host directories whose git repositories jobs may '
                     'clone through file:// URLs (served to nodes '
                     'read-only). Empty: file:// URLs are refused.'),
    cfg.PortOpt('metrics_port', default=0,
                help='Port of the Prometheus metrics endpoint; 0 turns it '
                     'off.'),
    cfg.HostAddressOpt('metrics_host', default='127.0.0.1',
                       help='Address the metrics endpoint listens on.'),
    cfg.IntOpt('rpc_timeout', default=30, min=1,
               help='Seconds a caller waits for the controller to answer '
                    'a query.'),
    cfg.IntOpt('reconcile_interval', default=60, min=2,
               help='Seconds within which the reconciler repairs what a '
                    'failed write or a crash left half done: a running '
                    'job whose node no longer runs it is retried (or ends '
                    'in error once max_attempts are used), a queued job '
                    'is freed from a node that is gone, a node whose job '
                    'ended is released. It looks twice an interval (a '
                    'running job is repaired when seen a second time '
                    'unchanged), and at start.'),
    cfg.IntOpt('max_log_bytes_per_job', default=20 * 1024 * 1024,
               min=1024,
               help='Bytes of a job\'s log the controller stores (all '
                    'attempts, its own notes included); past it the log '
                    'ends with one "log truncated" line. Keep it above '
                    '[agent] max_log_bytes, which agents cap their output '
                    'at.'),
    cfg.IntOpt('job_retention_days', default=90, min=0,
               help='Days a finished job (its row and its log) is kept '
                    'after it ended; 0 keeps jobs forever. A job whose '
                    'Mistral callback is still due is kept until it is '
                    'sent. Rows of deleted nodes are kept as long (a day '
                    'when only max_finished_jobs is set).'),
    cfg.IntOpt('max_finished_jobs', default=0, min=0,
               help='Most finished jobs kept (the newest; older ones and '
                    'their logs are deleted); 0 for no limit. Queued and '
                    'running jobs never count.'),
    cfg.IntOpt('prune_interval', default=300, min=1,
               help='Seconds between two prunings of finished jobs (see '
                    'job_retention_days and max_finished_jobs). A backlog '
                    'is deleted in batches, one per control-loop pass.'),
    cfg.IntOpt('max_queued_jobs_per_project', default=1000, min=0,
               help='Most jobs a project may have queued at once; a '
                    'submission past it is refused. 0 for no limit. '
                    'Without authentication (noauth) all callers count '
                    'as one project.'),
]


def register_opts(conf):
    conf.register_opts(opts, group=GROUP)


def list_opts():
    return {GROUP: opts}
