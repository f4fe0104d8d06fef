"""Where a build_image job's node uploads its image, and with what token.

The node gets an Image service endpoint and a token, never the cloud's
credentials: the caller's own token when the job carries one, else a
token of the controller's cloud (``[build_image] cloud``).
"""

import threading

from buildfarm import exception


class UploadTargets:

    def __init__(self, conf):
        self.conf = conf.build_image
        self._cloud = None
        self._lock = threading.Lock()

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
                self._cloud = openstack.connect(cloud=self.conf.cloud)
            return self._cloud

    def target(self, spec):
        """What the node needs to upload the image of ``spec``."""
        self.check()
        endpoint = self.conf.image_endpoint
        token = spec.get('token')
        if self.conf.cloud and not (endpoint and token):
            try:
                cloud = self._connection()
                endpoint = endpoint or cloud.image.get_endpoint()
                token = token or cloud.auth_token
            except Exception as e:
                raise exception.ImageBuildError(
                    'The controller could not get a token and endpoint of '
                    'cloud %r for the upload: %s' % (self.conf.cloud, e))
        return {'endpoint': endpoint.rstrip('/'), 'token': token,
                'attempts': self.conf.upload_attempts,
                'max_bytes': self.conf.max_image_size * 1024 * 1024,
                'port': self.conf.app_port}
