"""A fake Keystone at the HTTP seam (requests-mock): the service user's
authentication and the validation of the tokens it issued."""

import datetime
import secrets

from keystoneauth1 import loading as ks_loading

URL = 'http://keystone.test/v3'


def _iso(when):
    return when.strftime('%Y-%m-%dT%H:%M:%S.%fZ')


def token_body(user_id, project_id, roles, expires_in=3600):
    now = datetime.datetime.now(datetime.timezone.utc)
    domain = {'id': 'default', 'name': 'Default'}
    token = {'methods': ['password'],
             'user': {'id': user_id, 'name': user_id, 'domain': domain},
             'roles': [{'id': r, 'name': r} for r in roles],
             'issued_at': _iso(now),
             'expires_at': _iso(now + datetime.timedelta(seconds=expires_in))}
    if project_id:
        token['project'] = {'id': project_id, 'name': project_id,
                            'domain': domain}
    return {'token': token}


class FakeKeystone:
    """``issue`` makes a token; GET /v3/auth/tokens answers for it (404
    for any other) as long as the service user's token is sent."""

    def __init__(self, mocker):
        self.mocker = mocker
        self.tokens = {}
        # When set, every validation is answered with this status.
        self.validation_status = None
        # Version discovery of the generic password plugin.
        mocker.get(URL, json={'version': {
            'id': 'v3.14', 'status': 'stable',
            'links': [{'rel': 'self', 'href': URL + '/'}]}})
        mocker.post(URL + '/auth/tokens', status_code=201,
                    headers={'X-Subject-Token': 'service-token'},
                    json=token_body('buildfarm', 'service', ['service']))
        mocker.get(URL + '/auth/tokens', json=self._validate)

    def issue(self, user_id, project_id, roles, expires_in=3600):
        token = 'tok-' + secrets.token_hex(16)
        self.tokens[token] = token_body(user_id, project_id, roles,
                                        expires_in)
        return token

    def _validate(self, request, context):
        assert request.headers['X-Auth-Token'] == 'service-token'
        if self.validation_status:
            context.status_code = self.validation_status
            return {'error': {'code': self.validation_status}}
        body = self.tokens.get(request.headers['X-Subject-Token'])
        if body is None:
            context.status_code = 404
            return {'error': {'code': 404, 'message': 'Could not recognize '
                              'Fernet token'}}
        return body

    @property
    def validations(self):
        return sum(1 for r in self.mocker.request_history
                   if r.method == 'GET' and r.path == '/v3/auth/tokens')


def configure(conf, **options):
    """Point ``conf`` at the fake Keystone, with auth_strategy keystone
    and these other [keystone_authtoken] ``options``."""
    group = 'keystone_authtoken'
    # What loading the plugin registers, so that it can be overridden.
    conf.register_opts(ks_loading.get_auth_plugin_conf_options('password'),
                       group)
    settings = {'auth_type': 'password', 'auth_url': URL,
                'username': 'buildfarm', 'password': 'secret-buildfarm',
                'project_name': 'service', 'user_domain_id': 'default',
                'project_domain_id': 'default'}
    settings.update(options)
    conf.set_override('auth_strategy', 'keystone')
    for name, value in settings.items():
        conf.set_override(name, value, group)
