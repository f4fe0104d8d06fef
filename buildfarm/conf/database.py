from oslo_config import cfg

GROUP = 'database'

opts = [
    cfg.StrOpt('connection', secret=True,
               default='sqlite:////var/lib/buildfarm/buildfarm.sqlite',
               help='SQLAlchemy URL of the job store, for example '
                    'sqlite:////path/to/file.sqlite or '
                    'postgresql+psycopg2://user:password@host/buildfarm.'),
]


def register_opts(conf):
    conf.register_opts(opts, group=GROUP)


def list_opts():
    return {GROUP: opts}
