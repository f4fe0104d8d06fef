"""Options for Mistral: the controller completes the action executions
of asynchronous buildfarm actions through Mistral's API when their jobs
end."""

from oslo_config import cfg

GROUP = 'mistral'

opts = [
    cfg.URIOpt('url', schemes=['http', 'https'],
               help='Mistral API root, e.g. http://mistral.example.com:8989/'
                    'v2. Default: found in the catalog of the cloud.'),
    cfg.StrOpt('cloud',
               help='Cloud in clouds.yaml whose credentials the controller '
                    'calls Mistral with (and whose catalog has Mistral, '
                    'service type workflowv2). Unset: no authentication.'),
    cfg.IntOpt('timeout', default=30, min=1,
               help='Seconds to wait for Mistral to answer.'),
    cfg.IntOpt('retry_interval', default=10, min=1,
               help='Seconds between attempts to complete an action '
                    'execution while Mistral cannot be reached.'),
]


def register_opts(conf):
    conf.register_opts(opts, group=GROUP)


def list_opts():
    return {GROUP: opts}
