from oslo_config import cfg

GROUP = 'docker'

opts = [
    cfg.StrOpt('image', default='buildfarm-worker:latest',
               help='Worker image that every container node boots from. '
                    'Build it with "buildfarm image build --format '
                    'docker".'),
    cfg.StrOpt('base_url', default='unix:///var/run/docker.sock',
               help='Docker engine API address used by the controller. '
                    'Nodes never see it.'),
    cfg.StrOpt('node_config_dir',
               help='Host directory of the nodes\' agent configurations '
                    '(one read-only mount per node; they hold node secrets, '
                    'so only the controller\'s user may read it). Default: '
                    '"node-config" beside [controller] log_dir.'),
    cfg.StrOpt('network_mode', default='bridge',
               help='Network mode of node containers: bridge, host or the '
                    'name of a user-defined network. Nodes must reach the '
                    'broker at [node] transport_url; "host" is needed when '
                    'the broker listens only on 127.0.0.1.'),
    cfg.StrOpt('memory_limit', default='2g',
               help='Memory limit of a node container (docker syntax, for '
                    'example 512m or 4g).'),
    cfg.FloatOpt('cpus', default=1.0, min=0.01,
                 help='CPUs a node container may use.'),
    cfg.IntOpt('pids_limit', default=1024, min=16,
               help='Maximum number of processes in a node container.'),
]


def register_opts(conf):
    conf.register_opts(opts, group=GROUP)


def list_opts():
    return {GROUP: opts}
