"""Authentication of the controller's callers: ``[DEFAULT] auth_strategy``
and ``[keystone_authtoken]`` (the controller's service user, with which
it validates callers' tokens, and the token cache).

The default is keystone, as in other OpenStack services: a controller
that is reachable by more than its operator must know who calls it. The
all-in-one ``buildfarm run`` sets noauth for the controller it starts.
"""

from keystoneauth1 import loading as ks_loading
from oslo_config import cfg

GROUP = 'keystone_authtoken'

default_opts = [
    cfg.StrOpt('auth_strategy', default='keystone',
               choices=[('keystone', 'every call of the caller and '
                         'operator API carries a Keystone token, which the '
                         'controller validates; oslo.policy decides what '
                         'the caller may do'),
                        ('noauth', 'no authentication: whoever reaches '
                         'the controller\'s topic may do everything, and '
                         'jobs belong to no project (all-in-one mode, '
                         'trials)')],
               help='How the controller authenticates the callers of its '
                    'caller and operator API (the CLI reads it too, to '
                    'know whether it needs a token). Agents are '
                    'authenticated by their own protocol either way.'),
]

opts = [
    cfg.IntOpt('token_cache_time', default=300, min=0,
               help='Seconds a token found valid is trusted without asking '
                    'Keystone again (never past its expiry). A token '
                    'revoked meanwhile is still accepted for up to this '
                    'long; 0 asks Keystone on every call.'),
    cfg.IntOpt('token_cache_size', default=1000, min=1,
               help='Most tokens remembered at once; the least recently '
                    'used is forgotten first.'),
]


# Seconds the service user's session waits for Keystone: keystoneauth's
# default is to wait for ever, and a caller's call waits with it.
DEFAULT_TIMEOUT = 30


def register_opts(conf):
    conf.register_opts(default_opts)
    conf.register_opts(opts, group=GROUP)
    # auth_type and auth_section; the options of the chosen auth plugin
    # are registered when it is loaded.
    ks_loading.register_auth_conf_options(conf, GROUP)
    ks_loading.register_session_conf_options(conf, GROUP)
    conf.set_default('timeout', DEFAULT_TIMEOUT, group=GROUP)


def _session_opts():
    session_opts = ks_loading.get_session_conf_options()
    for opt in session_opts:
        if opt.dest == 'timeout':
            opt.default = DEFAULT_TIMEOUT
    return session_opts


def list_opts():
    # The sample shows the password plugin's options, the usual choice for
    # a service user.
    return {
        'DEFAULT': default_opts,
        GROUP: (opts + _session_opts() +
                ks_loading.get_auth_common_conf_options() +
                ks_loading.get_auth_plugin_conf_options('password')),
    }
