"""Options of build_image jobs: the runtime image apps are built on, and
where (and with whose credentials) built images are uploaded."""

from oslo_config import cfg

GROUP = 'build_image'

opts = [
    cfg.StrOpt('runtime_image', default='buildfarm-runtime:latest',
               help='Docker image that built apps run on: their image is '
                    'this image plus a layer holding the compiled app. '
                    '"buildfarm image build --format docker" builds it '
                    'with the language packs\' runtimes; the controller '
                    'gives nodes its "docker save" archive, read-only.'),
    cfg.StrOpt('runtime_archive_dir',
               help='Host directory of the runtime image\'s archives, one '
                    'per image id, made by the controller when missing. '
                    'Default: "runtime-images" beside [controller] '
                    'log_dir.'),
    cfg.StrOpt('image_endpoint',
               help='URL of the Image service (Glance) built images go '
                    'to. Default: the image endpoint of [build_image] '
                    'cloud\'s catalog. With no cloud, the endpoint is used '
                    'without authentication unless the caller gives a '
                    'token.'),
    cfg.StrOpt('cloud',
               help='Name of a cloud in clouds.yaml. For a build whose '
                    'caller gives no token, the controller creates the '
                    'image record with this cloud and mints an '
                    'application credential of its user that can only '
                    'upload that image and expires with the job; the '
                    'node gets a token of that credential, never the '
                    'cloud\'s credentials or token. The user must be '
                    'able to create application credentials (Keystone '
                    'v3, password or token auth, not itself an '
                    'application credential).'),
    cfg.StrOpt('upload_role', default='member',
               help='The one role of the minted upload credentials, in '
                    '[build_image] cloud\'s project: Glance must let it '
                    'update and upload the project\'s images.'),
    cfg.IntOpt('upload_credential_margin', default=300, min=0,
               help='Seconds a minted upload credential outlives the '
                    'job\'s latest possible end (a boot, the job\'s '
                    'timeout and the agent\'s clone and kill allowances).'),
    cfg.IntOpt('api_timeout', default=60, min=1,
               help='Seconds the controller waits for an answer of '
                    '[build_image] cloud\'s Keystone or Glance (minting, '
                    'releasing and cleaning up upload credentials) before '
                    'giving up on that call.'),
    cfg.IntOpt('max_image_size', default=4096, min=1,
               help='Largest image, in MiB, a build may upload; a bigger '
                    'one fails the build before the upload.'),
    cfg.IntOpt('upload_attempts', default=3, min=1,
               help='Attempts at reaching Glance before a build fails.'),
    cfg.IntOpt('app_port', default=8080, min=1, max=65535,
               help='PORT given to built apps: their web process listens '
                    'on it.'),
]


def register_opts(conf):
    conf.register_opts(opts, group=GROUP)


def list_opts():
    return {GROUP: opts}
