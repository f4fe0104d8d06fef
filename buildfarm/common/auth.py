"""Authentication of the messages between the controller and its nodes.

Each node has two secrets, both derived from the controller's key and the
node id, so the controller stores none and still knows them after a
restart (when the key is configured):

- the bootstrap secret (``node_secret``), given to the node at boot (its
  configuration file, user data). It signs the node's registration and
  nothing else, and works once: whatever a job later finds of it is
  useless.
- the session key, which the controller sends at registration encrypted
  to a key pair the agent made in memory (``seal``). It signs every later
  agent message and seals every controller message to the agent.

Every message carries a timestamp and a nonce; a receiver drops a stale
message and one whose nonce it has seen (``ReplayGuard``).
"""

import hashlib
import heapq
import hmac
import json
import math
import secrets
import threading
import time

from buildfarm import exception

MAX_SKEW = 300  # seconds a signed message stays valid


def new_key():
    return secrets.token_hex(32)


def _derive(key, purpose, node_id):
    return hmac.new(key.encode(), ('%s:%s' % (purpose, node_id)).encode(),
                    hashlib.sha256).hexdigest()


def node_secret(key, node_id):
    """The node's bootstrap secret: good for one registration."""
    return hmac.new(key.encode(), node_id.encode(), hashlib.sha256).hexdigest()


def session_key(key, node_id):
    return _derive(key, 'session', node_id)


def agent_server(secret, node_id):
    """The RPC server name (hence queue) of a node's agent: unguessable
    without the node's bootstrap secret, so no other node can bind to it
    or consume from it."""
    return '%s.%s' % (node_id, _derive(secret, 'queue', node_id)[:32])


def _digest(secret, method, ts, nonce, payload):
    body = json.dumps([method, ts, nonce, payload], sort_keys=True,
                      separators=(',', ':'))
    return hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()


def sign(secret, method, payload):
    """The ``auth`` argument an agent sends with ``method(**payload)``."""
    ts, nonce = time.time(), secrets.token_hex(16)
    return {'ts': ts, 'nonce': nonce,
            'mac': _digest(secret, method, ts, nonce, payload)}


def verify(secret, method, payload, auth, guard):
    """Raise AgentAuthError unless ``auth`` signs this very message, for
    the first time (``guard``: the receiver's ReplayGuard)."""
    try:
        ts, nonce, mac = (float(auth['ts']), str(auth['nonce']),
                          str(auth['mac']))
    except (KeyError, TypeError, ValueError):
        raise exception.AgentAuthError('%s: message is not signed.' % method)
    # compare_digest takes ASCII text only (TypeError otherwise).
    if not mac.isascii() or not hmac.compare_digest(
            mac, _digest(secret, method, ts, nonce, payload)):
        raise exception.AgentAuthError('%s: bad signature.' % method)
    guard.check(method, ts, nonce)


class ReplayGuard:
    """Nonces of the messages taken within the last MAX_SKEW seconds; a
    message older than that, or seen before, is refused (and counted)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._seen = set()
        self._expiries = []  # heap of (forget after, nonce)
        self.replays = 0

    def check(self, method, ts, nonce):
        now = time.time()
        if not math.isfinite(ts) or abs(now - ts) > MAX_SKEW:
            raise exception.AgentAuthError('%s: message is stale.' % method)
        with self._lock:
            while self._expiries and self._expiries[0][0] < now:
                self._seen.discard(heapq.heappop(self._expiries)[1])
            if nonce in self._seen:
                self.replays += 1
                raise exception.AgentAuthError(
                    '%s: message replayed.' % method)
            self._seen.add(nonce)
            heapq.heappush(self._expiries, (ts + MAX_SKEW, nonce))
