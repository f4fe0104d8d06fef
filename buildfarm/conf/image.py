from oslo_config import cfg

GROUP = 'image'

opts = [
    cfg.StrOpt('base_image', default='debian:bookworm-slim',
               help='Base image of the container worker image (a Debian '
                    'or Ubuntu image with apt).'),
]


def register_opts(conf):
    conf.register_opts(opts, group=GROUP)


def list_opts():
    return {GROUP: opts}
