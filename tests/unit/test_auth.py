import time
from unittest import mock

import pytest

from buildfarm.common import auth
from buildfarm import exception

SECRET = auth.node_secret('key', 'node-1')
PAYLOAD = {'node_id': 'node-1', 'job_id': 'job-1', 'seq': 0, 'data': 'x'}


def test_a_signed_message_verifies():
    auth.verify(SECRET, 'log_chunk', PAYLOAD,
                auth.sign(SECRET, 'log_chunk', PAYLOAD))


@pytest.mark.parametrize('secret,method,payload', [
    (auth.node_secret('key', 'node-2'), 'log_chunk', PAYLOAD),
    (SECRET, 'report', PAYLOAD),
    (SECRET, 'log_chunk', dict(PAYLOAD, data='y')),
])
def test_a_signature_is_bound_to_secret_method_and_payload(secret, method,
                                                           payload):
    signature = auth.sign(secret, method, payload)
    with pytest.raises(exception.AgentAuthError, match='bad signature'):
        auth.verify(SECRET, 'log_chunk', PAYLOAD, signature)


def test_stale_and_unsigned_messages_are_refused():
    signature = auth.sign(SECRET, 'log_chunk', PAYLOAD)
    later = time.time() + auth.MAX_SKEW + 1
    with mock.patch.object(auth.time, 'time', return_value=later):
        with pytest.raises(exception.AgentAuthError, match='stale'):
            auth.verify(SECRET, 'log_chunk', PAYLOAD, signature)
    with pytest.raises(exception.AgentAuthError, match='not signed'):
        auth.verify(SECRET, 'log_chunk', PAYLOAD, None)


def test_node_secrets_differ_per_node_and_key():
    assert len({auth.node_secret('k', 'a'), auth.node_secret('k', 'b'),
                auth.node_secret('j', 'a')}) == 3
