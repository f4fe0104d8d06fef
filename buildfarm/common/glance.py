"""Glance, reached with an endpoint and, unless the Image service needs
none, a token: what a build node gets (the caller's token or one the
controller minted), never a cloud's credentials. With a minted token the
controller has created the image: the node labels it and fills it, and
cannot create, list or delete images.

Uploads stream from disk: the file is read in chunks as it is sent and
hashed on the way, and the upload counts only once Glance's checksum and
size match.
"""

import hashlib
import logging
import os
import time

from buildfarm import exception

LOG = logging.getLogger(__name__)
_CHUNK = 1024 * 1024


class _HashingFile:
    """A file sent in chunks, hashed as it goes; it has a length, so the
    upload has a Content-Length."""

    def __init__(self, path, progress=None):
        self.path = path
        self.size = os.path.getsize(path)
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.sha512 = hashlib.sha512()
        self._progress = progress or (lambda sent, size: None)

    def __len__(self):
        return self.size

    def __iter__(self):
        sent = 0
        with open(self.path, 'rb') as f:
            for chunk in iter(lambda: f.read(_CHUNK), b''):
                self.md5.update(chunk)
                self.sha512.update(chunk)
                sent += len(chunk)
                self._progress(sent, self.size)
                yield chunk


def connect(endpoint, token=None):
    # Late: only build jobs need them, and openstacksdk is slow to import.
    from keystoneauth1 import noauth
    from keystoneauth1 import session
    from keystoneauth1 import token_endpoint
    import openstack
    auth = (token_endpoint.Token(endpoint, token) if token else
            noauth.NoAuth(endpoint=endpoint))
    return openstack.connection.Connection(
        session=session.Session(auth=auth), image_endpoint_override=endpoint)


def _retriable(error):
    from keystoneauth1 import exceptions as ks_exceptions
    from openstack import exceptions as sdk_exceptions
    if isinstance(error, (ks_exceptions.ConnectionError,
                          ks_exceptions.DiscoveryFailure)):
        return True  # the service is down or unreachable
    status = getattr(error, 'status_code', None)
    return isinstance(error, sdk_exceptions.HttpException) and (
        status is None or status >= 500)


def _delete(conn, image):
    try:
        conn.image.delete_image(image, ignore_missing=True)
    except Exception as e:
        LOG.warning('Could not delete the failed upload %s: %s', image.id, e)


def _upload_once(conn, path, name, properties, progress, image_id=None):
    if image_id:
        # Made by the controller, which removes it if the job does not
        # succeed: the minted token could not delete it anyway.
        image = conn.image.update_image(image_id, **properties)
        return _fill(conn, image, path, progress)
    image = conn.image.create_image(
        name, disk_format='raw', container_format='docker',
        allow_duplicates=True, **properties)
    try:
        return _fill(conn, image, path, progress)
    except BaseException:
        _delete(conn, image)
        raise


def _fill(conn, image, path, progress):
    """Upload the data of ``image``; check what Glance stored."""
    from openstack import exceptions as sdk_exceptions
    data = _HashingFile(path, progress)
    sdk_exceptions.raise_from_response(
        image.upload(conn.image, data=data, size=data.size))
    stored = conn.image.get_image(image.id)
    if stored.status != 'active' or stored.size != data.size or (
            stored.checksum != data.md5.hexdigest()) or (
            stored.hash_algo == 'sha512' and
            stored.hash_value != data.sha512.hexdigest()):
        raise exception.ImageBuildError(
            'Glance stored image %s as %s, %s bytes, checksum %s; '
            'sent %d bytes, checksum %s.' % (
                image.id, stored.status, stored.size, stored.checksum,
                data.size, data.md5.hexdigest()))
    return stored


def upload(target, path, name, properties, progress=None):
    """Upload the image archive at ``path``; return the Glance image.

    ``target``: {'endpoint', 'token', 'attempts', 'image_id'} from the
    controller; with an ``image_id``, that image is labelled and filled.
    Unreachable or failing (5xx) Glance is tried ``attempts`` times; an
    image Glance rejects or stores wrong fails at once. Either way no
    image record is left behind: the node deletes one it created, the
    controller one it created for the node.
    """
    conn = connect(target['endpoint'], target.get('token'))
    attempts = max(1, int(target.get('attempts') or 1))
    for attempt in range(1, attempts + 1):
        try:
            return _upload_once(conn, path, name, properties, progress,
                                target.get('image_id'))
        except exception.ImageBuildError:
            raise
        except Exception as e:
            if not _retriable(e):
                raise exception.ImageBuildError(
                    'Glance at %s rejected the image: %s'
                    % (target['endpoint'], _message(e)))
            if attempt == attempts:
                raise exception.ImageBuildError(
                    'Could not upload the image to Glance at %s after %d '
                    'attempts: %s' % (target['endpoint'], attempts,
                                      _message(e)))
            delay = min(2 ** attempt, 30)
            LOG.warning('Upload attempt %d failed (%s); retrying in %d s',
                        attempt, _message(e), delay)
            time.sleep(delay)


def _message(error):
    text = ' '.join(str(error).split())
    return text[:500] or type(error).__name__
