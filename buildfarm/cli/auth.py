"""The CLI's Keystone token, found as other OpenStack clients find theirs:
``--os-cloud`` or $OS_CLOUD (an entry of clouds.yaml), else the OS_*
variables ($OS_AUTH_URL, $OS_USERNAME, ...), through openstacksdk.

A token is needed when the configuration says ``auth_strategy =
keystone`` (the default); with noauth, one is sent only if a cloud or
$OS_AUTH_URL is given.
"""

import os

from buildfarm import exception


def token_source(conf, cloud=None):
    """None if the calls need no token, else a function that returns a
    valid one (keystoneauth renews it before it expires)."""
    cloud = cloud or os.environ.get('OS_CLOUD')
    from_env = bool(os.environ.get('OS_AUTH_URL'))
    if not (cloud or from_env):
        if conf.auth_strategy == 'noauth':
            return None
        raise exception.NotAuthorized(
            'The controller needs a Keystone token: give --os-cloud NAME '
            '(an entry of clouds.yaml), or set OS_CLOUD, or OS_AUTH_URL and '
            'the other OS_* variables. A controller without Keystone '
            'needs "auth_strategy = noauth" in the configuration file.')
    session = _session(cloud)
    where = 'cloud %s' % cloud if cloud else 'the OS_* variables'

    def get_token():
        from keystoneauth1 import exceptions as ks_exc
        try:
            return session.get_token()
        except ks_exc.ClientException as e:
            raise exception.NotAuthorized(
                'Could not get a Keystone token with the credentials of '
                '%s: %s' % (where, e))
    return get_token


def _session(cloud):
    # openstacksdk is imported only by the commands that need it.
    from keystoneauth1 import exceptions as ks_exc
    import openstack.config
    from openstack import exceptions as sdk_exc
    try:
        return openstack.config.get_cloud_region(cloud=cloud).get_session()
    except (sdk_exc.ConfigException, ks_exc.ClientException) as e:
        raise exception.NotAuthorized(
            'Cannot authenticate with %s: %s' % (
                'cloud %s' % cloud if cloud else 'the OS_* variables', e))
