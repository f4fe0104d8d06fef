import time
from unittest import mock

import pytest

from buildfarm.common import auth
from buildfarm.common import seal
from buildfarm import exception

SECRET = auth.node_secret('key', 'node-1')
SESSION = auth.session_key('key', 'node-1')
PAYLOAD = {'node_id': 'node-1', 'job_id': 'job-1', 'seq': 0, 'data': 'x'}


def test_a_signed_message_verifies_once():
    guard = auth.ReplayGuard()
    signature = auth.sign(SECRET, 'log_chunk', PAYLOAD)
    auth.verify(SECRET, 'log_chunk', PAYLOAD, signature, guard)
    with pytest.raises(exception.AgentAuthError, match='replayed'):
        auth.verify(SECRET, 'log_chunk', PAYLOAD, signature, guard)
    assert guard.replays == 1
    # The same content signed again is a new message.
    auth.verify(SECRET, 'log_chunk', PAYLOAD,
                auth.sign(SECRET, 'log_chunk', PAYLOAD), guard)


@pytest.mark.parametrize('secret,method,payload', [
    (auth.node_secret('key', 'node-2'), 'log_chunk', PAYLOAD),
    (SESSION, 'log_chunk', PAYLOAD),
    (SECRET, 'report', PAYLOAD),
    (SECRET, 'log_chunk', dict(PAYLOAD, data='y')),
])
def test_a_signature_is_bound_to_secret_method_and_payload(secret, method,
                                                           payload):
    signature = auth.sign(secret, method, payload)
    with pytest.raises(exception.AgentAuthError, match='bad signature'):
        auth.verify(SECRET, 'log_chunk', PAYLOAD, signature,
                    auth.ReplayGuard())


@pytest.mark.parametrize('mac', ['\u00e9' * 64, '\ud800', 5, None])
def test_a_mac_that_is_not_ascii_text_is_a_bad_signature(mac):
    signature = dict(auth.sign(SECRET, 'log_chunk', PAYLOAD), mac=mac)
    with pytest.raises(exception.AgentAuthError, match='bad signature'):
        auth.verify(SECRET, 'log_chunk', PAYLOAD, signature,
                    auth.ReplayGuard())


def test_a_changed_nonce_breaks_the_signature():
    signature = dict(auth.sign(SECRET, 'log_chunk', PAYLOAD), nonce='0' * 32)
    with pytest.raises(exception.AgentAuthError, match='bad signature'):
        auth.verify(SECRET, 'log_chunk', PAYLOAD, signature,
                    auth.ReplayGuard())


def test_stale_and_unsigned_messages_are_refused():
    signature = auth.sign(SECRET, 'log_chunk', PAYLOAD)
    later = time.time() + auth.MAX_SKEW + 1
    with mock.patch.object(auth.time, 'time', return_value=later):
        with pytest.raises(exception.AgentAuthError, match='stale'):
            auth.verify(SECRET, 'log_chunk', PAYLOAD, signature,
                        auth.ReplayGuard())
    with pytest.raises(exception.AgentAuthError, match='not signed'):
        auth.verify(SECRET, 'log_chunk', PAYLOAD, None, auth.ReplayGuard())


def test_the_guard_forgets_nonces_only_once_their_messages_are_stale():
    guard = auth.ReplayGuard()
    now = time.time()
    guard.check('m', now, 'n1')
    with mock.patch.object(auth.time, 'time',
                           return_value=now + auth.MAX_SKEW - 1):
        with pytest.raises(exception.AgentAuthError, match='replayed'):
            guard.check('m', now, 'n1')
    with mock.patch.object(auth.time, 'time',
                           return_value=now + auth.MAX_SKEW + 1):
        with pytest.raises(exception.AgentAuthError, match='stale'):
            guard.check('m', now, 'n1')
        guard.check('m', now + auth.MAX_SKEW, 'n2')
    assert 'n1' not in guard._seen


def test_secrets_differ_per_node_key_and_purpose():
    assert len({auth.node_secret('k', 'a'), auth.node_secret('k', 'b'),
                auth.node_secret('j', 'a'), auth.session_key('k', 'a'),
                auth.session_key('k', 'b')}) == 5
    # An agent's queue cannot be named without the node's secret.
    assert auth.agent_server(SECRET, 'node-1').startswith('node-1.')
    assert auth.agent_server(SECRET, 'node-1') != auth.agent_server(
        auth.node_secret('other-key', 'node-1'), 'node-1')


def test_the_session_key_opens_only_with_the_agents_private_key():
    private_key, public_key = seal.new_key_pair()
    sealed = seal.seal_to(public_key, SESSION)
    assert SESSION not in repr(sealed)
    assert seal.open_sealed(private_key, sealed) == SESSION
    other, _ = seal.new_key_pair()
    with pytest.raises(exception.AgentAuthError):
        seal.open_sealed(other, sealed)


def test_a_sealed_message_opens_once_for_its_node_only():
    guard = auth.ReplayGuard()
    box = seal.seal(SESSION, 'run_job', 'node-1', {'job': {'token': 't0k'}})
    assert 't0k' not in box
    for key, node in ((auth.session_key('key', 'node-2'), 'node-1'),
                      (SESSION, 'node-2')):
        with pytest.raises(exception.AgentAuthError, match='not sealed'):
            seal.unseal(key, node, box, guard)
    assert seal.unseal(SESSION, 'node-1', box, guard) == (
        'run_job', {'job': {'token': 't0k'}})
    with pytest.raises(exception.AgentAuthError, match='replayed'):
        seal.unseal(SESSION, 'node-1', box, guard)
    tampered = box[:-4] + ('AAAA' if box[-4:] != 'AAAA' else 'BBBB')
    with pytest.raises(exception.AgentAuthError, match='not sealed'):
        seal.unseal(SESSION, 'node-1', tampered, auth.ReplayGuard())


def test_a_timestamp_that_is_not_a_number_is_stale():
    for ts in (float('nan'), float('inf')):
        with pytest.raises(exception.AgentAuthError, match='stale'):
            auth.ReplayGuard().check('m', ts, 'n1')
