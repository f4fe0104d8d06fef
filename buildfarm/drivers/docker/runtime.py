"""The runtime image's archive, which build_image jobs build apps on.

Nodes assemble images with no Docker daemon, so they get the runtime
image as a ``docker save`` archive, mounted read-only. The controller
saves it once per image id: rebuilding the runtime image gives new nodes
the new archive.
"""

import logging
import os
import threading
import time

from docker import errors as docker_errors

LOG = logging.getLogger(__name__)
#: Seconds between two checks of the runtime image's id.
_RECHECK = 30.0


class RuntimeArchive:

    def __init__(self, client, image, directory):
        self.client = client
        self.image = image
        self.directory = directory
        self._lock = threading.Lock()
        self._path = None
        self._checked = -_RECHECK
        self._warned = False

    def path(self):
        """Host path of the archive of the runtime image as it is now, or
        None if Docker has no such image (build jobs then fail, saying
        so)."""
        with self._lock:
            if time.monotonic() - self._checked < _RECHECK:
                return self._path
            self._path = self._ensure()
            self._checked = time.monotonic()
            return self._path

    def _ensure(self):
        try:
            image = self.client.images.get(self.image)
        except docker_errors.ImageNotFound:
            if not self._warned:
                LOG.warning('Runtime image %s not found: build_image jobs '
                            'will fail until it is built ("buildfarm image '
                            'build --format docker").', self.image)
                self._warned = True
            return None
        self._warned = False
        path = os.path.join(self.directory,
                            image.id.replace('sha256:', '') + '.tar')
        if os.path.exists(path):
            return path
        os.makedirs(self.directory, exist_ok=True)
        LOG.info('Saving runtime image %s to %s', self.image, path)
        partial = path + '.partial'
        with open(partial, 'wb') as f:
            for chunk in image.save(named=True):
                f.write(chunk)
        os.chmod(partial, 0o644)
        os.rename(partial, path)
        self._remove_others(path)
        return path

    def _remove_others(self, keep):
        """Archives of older runtime images go (a node mounting one keeps
        its open file)."""
        for name in os.listdir(self.directory):
            other = os.path.join(self.directory, name)
            if other != keep and name.endswith('.tar'):
                os.unlink(other)
