"""Callers' tokens: validation with Keystone (faked at HTTP), the cache,
and the errors callers get."""

import logging
import socket
import time

import pytest
import requests
import requests_mock

from buildfarm.controller import auth
from buildfarm import exception
from tests.unit import fake_keystone


@pytest.fixture
def keystone():
    with requests_mock.Mocker() as mocker:
        yield fake_keystone.FakeKeystone(mocker)


@pytest.fixture
def validator(conf, keystone):
    fake_keystone.configure(conf)
    return auth.TokenValidator(conf, auth.service_session(conf))


def test_a_valid_token_gives_its_user_project_and_roles(validator, keystone):
    token = keystone.issue('alice', 'alpha', ['member', 'reader'])
    context = validator.context(token)
    assert (context.user_id, context.project_id, context.roles) == (
        'alice', 'alpha', ('member', 'reader'))
    assert context.auth_token == token
    assert token not in repr(context)


def test_a_valid_token_is_cached(validator, keystone):
    token = keystone.issue('alice', 'alpha', ['member'])
    for _ in range(3):
        assert validator.context(token).user_id == 'alice'
    assert keystone.validations == 1


def test_the_cache_forgets_a_token_after_token_cache_time(
        conf, keystone, monkeypatch):
    fake_keystone.configure(conf, token_cache_time=60)
    validator = auth.TokenValidator(conf, auth.service_session(conf))
    token = keystone.issue('alice', 'alpha', ['member'])
    now = [1000.0]
    monkeypatch.setattr(auth.time, 'monotonic', lambda: now[0])
    validator.context(token)
    now[0] += 59
    validator.context(token)
    assert keystone.validations == 1
    now[0] += 2
    validator.context(token)
    assert keystone.validations == 2


def test_the_cache_never_outlives_the_token(conf, keystone, monkeypatch):
    fake_keystone.configure(conf, token_cache_time=3600)
    validator = auth.TokenValidator(conf, auth.service_session(conf))
    token = keystone.issue('alice', 'alpha', ['member'], expires_in=30)
    now = [1000.0]
    monkeypatch.setattr(auth.time, 'monotonic', lambda: now[0])
    validator.context(token)
    now[0] += 31
    del keystone.tokens[token]   # expired: Keystone no longer knows it
    with pytest.raises(exception.NotAuthorized, match='expired'):
        validator.context(token)


def test_the_cache_is_bounded(conf, keystone):
    fake_keystone.configure(conf, token_cache_size=2)
    validator = auth.TokenValidator(conf, auth.service_session(conf))
    first, second, third = (keystone.issue(u, 'alpha', ['member'])
                            for u in ('u1', 'u2', 'u3'))
    for token in (first, second, third, second, first):
        validator.context(token)
    # first was forgotten when third came; second stayed (2 entries).
    assert keystone.validations == 4
    assert len(validator._cache) == 2


def test_no_caching_with_a_cache_time_of_zero(conf, keystone):
    fake_keystone.configure(conf, token_cache_time=0)
    validator = auth.TokenValidator(conf, auth.service_session(conf))
    token = keystone.issue('alice', 'alpha', ['member'])
    validator.context(token)
    validator.context(token)
    assert keystone.validations == 2


@pytest.mark.parametrize('token', [None, ''])
def test_a_call_without_a_token_is_refused(validator, keystone, token):
    with pytest.raises(exception.NotAuthorized, match='carried none'):
        validator.context(token)
    assert keystone.validations == 0


@pytest.mark.parametrize('token', [42, ['x'], 'a' * 9000, 'tok\nen',
                                   'tök'])
def test_a_malformed_token_is_refused_without_asking_keystone(
        validator, keystone, token):
    with pytest.raises(exception.NotAuthorized, match='malformed'):
        validator.context(token)
    assert keystone.validations == 0


def test_an_unknown_token_is_refused_and_not_cached(validator, keystone):
    for _ in range(2):
        with pytest.raises(exception.NotAuthorized,
                           match='invalid or has expired'):
            validator.context('tok-forged')
    assert keystone.validations == 2


@pytest.mark.parametrize('status', [401, 403, 500, 503])
def test_keystone_refusing_the_service_user_is_not_the_callers_fault(
        validator, keystone, status):
    token = keystone.issue('alice', 'alpha', ['member'])
    keystone.validation_status = status
    with pytest.raises(exception.IdentityUnavailable):
        validator.context(token)


def test_keystone_unreachable(conf):
    fake_keystone.configure(conf)
    with requests_mock.Mocker() as mocker:
        mocker.register_uri(requests_mock.ANY, requests_mock.ANY,
                            exc=requests.exceptions.ConnectionError)
        validator = auth.TokenValidator(conf, auth.service_session(conf))
        with pytest.raises(exception.IdentityUnavailable):
            validator.context('tok-any')


def test_tokens_are_never_logged(conf, keystone, caplog):
    caplog.set_level(logging.DEBUG)
    fake_keystone.configure(conf)
    guard = auth.from_conf(conf)
    good = keystone.issue('bob', 'beta', ['member'])
    guard.authorize({'auth_token': good}, 'buildfarm:job:get_job')
    with pytest.raises(exception.Forbidden):
        guard.authorize({'auth_token': good}, 'buildfarm:pool:set')
    with pytest.raises(exception.NotAuthorized):
        guard.authorize({'auth_token': 'tok-forged-secret'},
                        'buildfarm:job:get_job')
    keystone.validation_status = 500
    with pytest.raises(exception.IdentityUnavailable):
        guard.authorize({'auth_token': 'tok-other-secret'},
                        'buildfarm:job:get_job')
    assert 'bob' in caplog.text       # the logs were captured
    for secret in (good, 'tok-forged-secret', 'tok-other-secret',
                   'service-token'):
        assert secret not in caplog.text


def test_keystone_without_a_service_user_is_a_clear_error(conf):
    conf.set_override('auth_strategy', 'keystone')
    with pytest.raises(exception.BuildfarmError,
                       match=r'needs the controller\'s service user'):
        auth.from_conf(conf)


def test_a_service_user_without_credentials_is_a_clear_error(conf):
    conf.set_override('auth_strategy', 'keystone')
    conf.set_override('auth_type', 'password', 'keystone_authtoken')
    with pytest.raises(exception.BuildfarmError,
                       match=r'\[keystone_authtoken\] misses auth[_-]url'):
        auth.from_conf(conf)


@pytest.mark.parametrize('raw', [None, 'tok', ['tok'], {'token': 'x'}, {}])
def test_a_context_without_auth_token_is_refused(conf, keystone, raw):
    fake_keystone.configure(conf)
    with pytest.raises(exception.NotAuthorized):
        auth.from_conf(conf).authorize(raw, 'buildfarm:job:get_job')


def test_noauth_allows_everything_as_nobody():
    guard = auth.NoAuth()
    context = guard.authorize({}, 'buildfarm:pool:set')
    assert (context.user_id, context.project_id, context.roles) == (
        None, None, ())
    assert guard.check(context, 'buildfarm:job:all_projects')


def test_a_keystone_that_never_answers_is_given_up_on(conf):
    # It accepts connections and never answers: without a timeout every
    # call of every caller would wait for ever.
    assert conf.keystone_authtoken.timeout == 30
    with socket.socket() as server:
        server.bind(('127.0.0.1', 0))
        server.listen(8)
        fake_keystone.configure(
            conf, auth_url='http://127.0.0.1:%d/v3' % server.getsockname()[1],
            timeout=1)
        validator = auth.TokenValidator(conf, auth.service_session(conf))
        began = time.monotonic()
        with pytest.raises(exception.IdentityUnavailable):
            validator.context('tok-any')
        assert time.monotonic() - began < 10
