"""Settings the controller hands to every node it boots."""

from oslo_config import cfg

GROUP = 'node'

opts = [
    cfg.StrOpt('transport_url', secret=True,
               help='Broker URL the agents in nodes use: a vhost and '
                    'account of their own, whose permissions allow only '
                    'what an agent needs (see the README\'s threat '
                    'model). The controller serves the agent API there and '
                    'the caller and operator API only on its own '
                    'transport_url. Defaults to the controller\'s own '
                    'transport_url, which lets a job that becomes root in '
                    'its node reach the caller API: the controller warns '
                    'at start.'),
    cfg.StrOpt('ca_bundle',
               help='Path, on the controller host, of a CA bundle that '
                    'nodes must trust (corporate proxies, re-signing '
                    'mirrors). It is mounted read-only into nodes and '
                    'named to git, pip, requests, Node.js and OpenSSL '
                    'through their environment variables.'),
    cfg.StrOpt('pip_index_url',
               help='Python package index that jobs should use '
                    '(PIP_INDEX_URL in the job environment).'),
    cfg.StrOpt('npm_registry',
               help='npm registry that jobs should use '
                    '(npm_config_registry in the job environment).'),
    cfg.StrOpt('packs_dir',
               help='Path, in nodes, of the language packs build_image '
                    'jobs use (default: the worker image\'s, '
                    '/opt/buildfarm/packs). "buildfarm lp check" points it '
                    'at an element\'s working copy.'),
    cfg.DictOpt('extra_env', default={},
                help='More environment variables given to every job, for '
                     'example http_proxy:http://proxy:3128. Not for '
                     'secrets: jobs and their logs can see them.'),
]


def register_opts(conf):
    conf.register_opts(opts, group=GROUP)


def list_opts():
    return {GROUP: opts}
