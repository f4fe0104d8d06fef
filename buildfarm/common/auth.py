"""Authentication of agent messages with the node's one-time secret.

Each node's secret is derived from the controller's key and the node id,
so the controller stores no secret in its database and still knows every
node's secret after a restart (when the key is configured).
"""

import hashlib
import hmac
import json
import secrets
import time

from buildfarm import exception

MAX_SKEW = 300  # seconds a signed message stays valid


def new_key():
    return secrets.token_hex(32)


def node_secret(key, node_id):
    return hmac.new(key.encode(), node_id.encode(), hashlib.sha256).hexdigest()


def _digest(secret, method, ts, payload):
    body = json.dumps([method, ts, payload], sort_keys=True,
                      separators=(',', ':'))
    return hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()


def sign(secret, method, payload):
    """The ``auth`` argument an agent sends with ``method(**payload)``."""
    ts = time.time()
    return {'ts': ts, 'mac': _digest(secret, method, ts, payload)}


def verify(secret, method, payload, auth):
    """Raise AgentAuthError unless ``auth`` signs this very message."""
    try:
        ts, mac = float(auth['ts']), str(auth['mac'])
    except (KeyError, TypeError, ValueError):
        raise exception.AgentAuthError('%s: message is not signed.' % method)
    if abs(time.time() - ts) > MAX_SKEW:
        raise exception.AgentAuthError('%s: signature is stale.' % method)
    if not hmac.compare_digest(mac, _digest(secret, method, ts, payload)):
        raise exception.AgentAuthError('%s: bad signature.' % method)
