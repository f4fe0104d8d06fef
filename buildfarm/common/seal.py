"""Encryption of what the controller sends to a node.

- At registration the controller sends the session key encrypted to the
  agent's in-memory key pair (X25519, HKDF, AES-GCM): ``seal_to`` and
  ``open_sealed``. Someone who later finds the node's bootstrap secret
  cannot read it.
- Every later controller message (a job with its secrets, a cancel) is
  one AES-GCM box under the session key, which authenticates it too, and
  carries its method, node, time and nonce: ``seal`` and ``unseal``.
"""

import base64
import hashlib
import json
import os
import secrets
import time

from cryptography import exceptions as crypto_exceptions
from cryptography.hazmat.primitives.asymmetric import x25519
from cryptography.hazmat.primitives.ciphers import aead
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf import hkdf
from cryptography.hazmat.primitives import serialization

from buildfarm import exception

_RAW = dict(encoding=serialization.Encoding.Raw,
            format=serialization.PublicFormat.Raw)


def _b64(data):
    return base64.b64encode(data).decode()


def _unb64(text):
    return base64.b64decode(text.encode(), validate=True)


def new_key_pair():
    """(private key, public key as text to send)."""
    private = x25519.X25519PrivateKey.generate()
    return private, _b64(private.public_key().public_bytes(**_RAW))


def _shared_key(private, public_bytes):
    shared = private.exchange(x25519.X25519PublicKey.from_public_bytes(
        public_bytes))
    return hkdf.HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                     info=b'buildfarm session key').derive(shared)


def seal_to(public_key, data):
    """``data`` (text) encrypted to the holder of ``public_key``."""
    ephemeral = x25519.X25519PrivateKey.generate()
    nonce = os.urandom(12)
    box = aead.AESGCM(_shared_key(ephemeral, _unb64(public_key))).encrypt(
        nonce, data.encode(), None)
    return {'key': _b64(ephemeral.public_key().public_bytes(**_RAW)),
            'box': _b64(nonce + box)}


def open_sealed(private_key, sealed):
    try:
        raw = _unb64(sealed['box'])
        key = _shared_key(private_key, _unb64(sealed['key']))
        return aead.AESGCM(key).decrypt(raw[:12], raw[12:], None).decode()
    except (KeyError, TypeError, ValueError,
            crypto_exceptions.InvalidTag) as e:
        raise exception.AgentAuthError(
            'The session key could not be opened: %s' % (e or 'bad box'))


def _box_key(session_key):
    return hashlib.sha256(b'buildfarm seal:' + session_key.encode()).digest()


def seal(session_key, method, node_id, args):
    """A message for ``node_id``'s agent, as one string."""
    body = json.dumps({'method': method, 'node_id': node_id,
                       'ts': time.time(), 'nonce': secrets.token_hex(16),
                       'args': args})
    nonce = os.urandom(12)
    return _b64(nonce + aead.AESGCM(_box_key(session_key)).encrypt(
        nonce, body.encode(), node_id.encode()))


def unseal(session_key, node_id, box, guard):
    """(method, args) of a sealed message for ``node_id``; AgentAuthError
    if it was not sealed with the session key for this node, is stale or
    was seen before (``guard``: an auth.ReplayGuard)."""
    try:
        raw = _unb64(box)
        body = json.loads(aead.AESGCM(_box_key(session_key)).decrypt(
            raw[:12], raw[12:], node_id.encode()))
        method, ts, nonce = body['method'], float(body['ts']), body['nonce']
        if body['node_id'] != node_id:
            raise ValueError('for another node')
    except (KeyError, TypeError, ValueError, AttributeError,
            crypto_exceptions.InvalidTag):
        raise exception.AgentAuthError('A message that is not sealed for '
                                       'this node was dropped.')
    guard.check(method, ts, nonce)
    return method, body['args']
