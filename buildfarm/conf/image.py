from oslo_config import cfg

GROUP = 'image'

opts = [
    cfg.StrOpt('base_image', default='debian:bookworm-slim',
               help='Base image of the container worker image (a Debian '
                    'or Ubuntu image with apt).'),
    cfg.StrOpt('disk_image_create', default='disk-image-create',
               help='diskimage-builder\'s command, for VM worker images '
                    '(looked for on PATH and beside this Python).'),
    cfg.ListOpt('vm_elements', default=['debian-minimal', 'vm',
                                        'buildfarm-agent'],
                help='Elements of the VM worker image; every language pack '
                     'element (elements/lp-*) is added.'),
    cfg.StrOpt('debian_release', default='bookworm',
               help='Debian release of the VM worker image (DIB_RELEASE).'),
    cfg.StrOpt('debian_mirror',
               help='Debian mirror the VM image is built from '
                    '(DIB_DISTRIBUTION_MIRROR); default: '
                    'diskimage-builder\'s.'),
    cfg.StrOpt('debian_security_mirror',
               help='Debian security mirror (DIB_DEBIAN_SECURITY_MIRROR).'),
    cfg.IntOpt('keep_uploads', default=3, min=1,
               help='"image build --upload" keeps this many of the newest '
                    'worker VM images in Glance and deletes older ones.'),
]


def register_opts(conf):
    conf.register_opts(opts, group=GROUP)


def list_opts():
    return {GROUP: opts}
