"""Who calls the controller's caller and operator API, and what they may
do (``[DEFAULT] auth_strategy``).

keystone: every call carries the caller's Keystone token in its context
(``{'auth_token': ...}``). The controller validates it with Keystone
(``GET /v3/auth/tokens``, as its service user of ``[keystone_authtoken]``),
trusts a valid one for ``token_cache_time`` seconds, and checks the
call's policy rule (``buildfarm.policy``) for the RequestContext the token
stands for: user, project, role names. Tokens are never logged; the cache
knows them by their SHA-256 only.

noauth: every call is allowed, as nobody: jobs have no project (the
all-in-one mode).
"""

import collections
import dataclasses
import datetime
import hashlib
import logging
import threading
import time

from keystoneauth1 import access as ks_access
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import loading as ks_loading
from keystoneauth1 import plugin as ks_plugin

from buildfarm.common import context as bf_context
from buildfarm.conf import auth as auth_conf
from buildfarm import exception
from buildfarm import policy

LOG = logging.getLogger(__name__)

# Fernet tokens are about 200 characters, JWS ones about 800.
MAX_TOKEN_LENGTH = 8192


def from_conf(conf):
    if conf.auth_strategy == 'noauth':
        return NoAuth()
    return KeystoneAuth(conf)


class NoAuth:
    """Everyone may do everything, as nobody."""

    def authorize(self, raw_context, rule):
        return bf_context.RequestContext()

    def check(self, context, rule):
        return True


class KeystoneAuth:

    def __init__(self, conf, session=None):
        """``session``: a keystoneauth session of the service user;
        default: the one [keystone_authtoken] describes."""
        self.tokens = TokenValidator(conf, session or service_session(conf))
        self.policy = policy.Policy(conf)

    def authorize(self, raw_context, rule):
        """The RequestContext of the call's token, if ``rule`` allows it;
        NotAuthorized without a valid token, Forbidden if not allowed."""
        token = raw_context.get('auth_token') if isinstance(
            raw_context, dict) else None
        context = self.tokens.context(token)
        try:
            self.policy.authorize(context, rule)
        except exception.Forbidden:
            LOG.info('Refused %s to user %s of project %s.', rule,
                     context.user_id, context.project_id)
            raise
        return context

    def check(self, context, rule):
        return self.policy.check(context, rule)


def service_session(conf):
    """The keystoneauth session of the controller's service user."""
    try:
        auth = ks_loading.load_auth_from_conf_options(conf, auth_conf.GROUP)
    except ks_exc.MissingRequiredOptions as e:
        raise exception.BuildfarmError(
            '[keystone_authtoken] misses %s (auth_strategy = keystone).'
            % ', '.join(o.dest for o in e.options))
    if auth is None:
        raise exception.BuildfarmError(
            'auth_strategy = keystone needs the controller\'s service user '
            'in [keystone_authtoken] (auth_type = password, auth_url, '
            'username, password, project_name, ...); set auth_strategy = '
            'noauth to run without Keystone.')
    return ks_loading.load_session_from_conf_options(
        conf, auth_conf.GROUP, auth=auth)


class TokenValidator:
    """Caller tokens to RequestContexts, through Keystone and a bounded
    cache of valid ones."""

    def __init__(self, conf, session):
        self.session = session
        self.cache_time = conf[auth_conf.GROUP].token_cache_time
        self.cache_size = conf[auth_conf.GROUP].token_cache_size
        self._lock = threading.Lock()
        # sha256 of the token -> (context without the token, trusted until
        # this time.monotonic()), least recently used first.
        self._cache = collections.OrderedDict()

    def context(self, token):
        if not token:
            raise exception.NotAuthorized(
                'This controller needs a Keystone token with every call, '
                'and this call carried none (the CLI: --os-cloud, OS_CLOUD '
                'or OS_* variables).')
        if (not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH or
                not token.isascii() or not token.isprintable()):
            raise exception.NotAuthorized('The token is malformed.')
        key = hashlib.sha256(token.encode()).hexdigest()
        found = self._cached(key)
        if found is None:
            found, lifetime = self._validate(token)
            self._remember(key, found, lifetime)
        return dataclasses.replace(found, auth_token=token)

    def _cached(self, key):
        with self._lock:
            entry = self._cache.get(key)
            if entry is None:
                return None
            if entry[1] <= time.monotonic():
                del self._cache[key]
                return None
            self._cache.move_to_end(key)
            return entry[0]

    def _remember(self, key, context, lifetime):
        lifetime = min(lifetime, self.cache_time)
        if lifetime <= 0:
            return
        with self._lock:
            self._cache[key] = (context, time.monotonic() + lifetime)
            self._cache.move_to_end(key)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)

    def _validate(self, token):
        """(context, seconds until the token expires), from Keystone."""
        try:
            resp = self.session.get(
                '/auth/tokens?nocatalog', headers={'X-Subject-Token': token},
                endpoint_filter={'service_type': 'identity',
                                 'interface': ks_plugin.AUTH_INTERFACE,
                                 'version': (3, 0)},
                raise_exc=False)
        except ks_exc.ClientException as e:
            # Keystone unreachable, or the service user's own credentials
            # refused: the controller's fault, not the caller's.
            LOG.error('Cannot validate a caller\'s token: %s', e)
            raise exception.IdentityUnavailable()
        if resp.status_code == 404:
            # Keystone's answer to a token it cannot read, an expired one
            # and a revoked one alike.
            raise exception.NotAuthorized(
                'The token is invalid or has expired.')
        if resp.status_code != 200:
            # 401 (even after keystoneauth renewed the service user's own
            # token) or 403: the service user may not validate tokens.
            LOG.error('Keystone answered %s to the validation of a '
                      'caller\'s token: may the service user validate '
                      'tokens (service or admin role)?', resp.status_code)
            raise exception.IdentityUnavailable()
        info = ks_access.create(resp=resp, body=resp.json())
        lifetime = (info.expires - datetime.datetime.now(
            datetime.timezone.utc)).total_seconds()
        if lifetime <= 0:
            raise exception.NotAuthorized(
                'The token is invalid or has expired.')
        context = bf_context.RequestContext(
            user_id=info.user_id, project_id=info.project_id,
            roles=tuple(info.role_names))
        LOG.debug('Token of user %s (project %s) validated.',
                  context.user_id, context.project_id)
        return context, lifetime
