"""Where a build_image job's node uploads its image, and with what token.

The node gets an Image service endpoint and a token, never the cloud's
credentials:

- the caller's own token when the job carries one (the node creates the
  image);
- else, with ``[build_image] cloud``, a token minted for this upload only
  (``upload_credentials``: the image record and the credential;
  ``upload_release``: their removal when the job ends);
- else (no cloud) the endpoint alone, for an Image service that needs no
  token.
"""

import threading

from buildfarm.controller import upload_credentials
from buildfarm.controller import upload_release
from buildfarm import exception


class UploadTargets:

    def __init__(self, conf, pools=None):
        """``pools``: to find a label's boot_timeout (the credential's
        lifetime covers the boot of the node the job waits for)."""
        self.conf = conf.build_image
        self._cloud = None
        self._lock = threading.Lock()
        self.credentials = upload_credentials.UploadCredentials(conf, pools)
        self.releases = upload_release.UploadReleases(conf, self._connection)

    def check(self):
        """BuildfarmError if this controller cannot take builds."""
        if not (self.conf.image_endpoint or self.conf.cloud):
            raise exception.BuildfarmError(
                'This controller has no Image service to upload built '
                'images to: set [build_image] image_endpoint or cloud.')

    def _connection(self):
        import openstack  # late: only controllers that build need it
        with self._lock:
            if self._cloud is None:
                self._cloud = openstack.connect(
                    cloud=self.conf.cloud,
                    api_timeout=self.conf.api_timeout)
            return self._cloud

    def target(self, spec, job=None):
        """What the node needs to upload the image of ``spec`` (of
        ``job``: needed to mint a credential for it)."""
        self.check()
        endpoint = self.conf.image_endpoint
        token = spec.get('token')
        image_id = None
        if self.conf.cloud and not token:
            try:
                cloud = self._connection()
                endpoint = endpoint or _catalog_endpoint(cloud)
            except Exception as e:
                raise exception.ImageBuildError(
                    'The controller could not get a token and endpoint of '
                    'cloud %r for the upload: %s' % (self.conf.cloud, e))
            image_id, token = self.credentials.mint(
                cloud, endpoint, job, spec)
        elif self.conf.cloud and not endpoint:
            try:
                endpoint = _catalog_endpoint(self._connection())
            except Exception as e:
                raise exception.ImageBuildError(
                    'The controller could not get a token and endpoint of '
                    'cloud %r for the upload: %s' % (self.conf.cloud, e))
        return {'endpoint': endpoint.rstrip('/'), 'token': token,
                'image_id': image_id,
                'attempts': self.conf.upload_attempts,
                'max_bytes': self.conf.max_image_size * 1024 * 1024,
                'port': self.conf.app_port}

    def start(self, store):
        """Start the release worker (``UploadReleases.start``)."""
        self.releases.start(store)

    def release_later(self, job):
        """The job ended: its minted credentials go, in the worker."""
        self.releases.release_later(job)

    def stop(self):
        """Stop the release worker."""
        self.releases.stop()


def _catalog_endpoint(cloud):
    # As in the catalog, unversioned: the node's version discovery asks
    # Glance's root, which needs no token (a minted one may not read
    # /v2).
    return cloud.endpoint_for('image')
