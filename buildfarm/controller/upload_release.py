"""The end of minted upload credentials (``upload_credentials``).

When a build_image job ends, its credentials go, and so does every image
record made for it but the one it reported, whose provenance is set again
and which is shared with the job's project. A restarted controller finds
and removes the leftovers of its jobs that ended (``clean_up``), and
leaves those of other controllers sharing the user alone.

Every call to the cloud has a timeout (``[build_image] api_timeout``),
and releases run in a worker thread of their own, never on the control
loop or an RPC thread: a Keystone or Glance that does not answer delays
only the removal of leftovers. The worker also runs ``clean_up`` every
``[controller] reap_interval``, so a release that failed is done later.
"""

import logging
import queue
import threading
import time

from buildfarm.controller import upload_credentials
from buildfarm import exception
from buildfarm import jobspec
from buildfarm import states

LOG = logging.getLogger(__name__)


class UploadReleases:

    def __init__(self, conf, connection):
        """``connection``: returns the connection to ``[build_image]
        cloud``."""
        self.conf = conf.build_image
        self._root = conf
        self._connection = connection
        self._store = None
        self._ended = queue.Queue()  # jobs to release
        self._worker = None
        self._worker_lock = threading.Lock()

    def start(self, store):
        """Start the worker: ``clean_up`` now and every reap_interval, and
        the releases ``release_later`` asks for."""
        self._store = store
        self._start_worker()

    def release_later(self, job):
        """The job ended: ``release`` it in the worker, at once."""
        if not self.conf.cloud or job['kind'] != jobspec.BUILD_IMAGE:
            return
        self._ended.put(job)
        self._start_worker()

    def stop(self):
        """Stop the worker once it is done with what it is doing."""
        with self._worker_lock:
            worker, self._worker = self._worker, None
        if worker is not None:
            self._ended.put(None)
            worker.join(timeout=5)

    def _start_worker(self):
        with self._worker_lock:
            if self._worker is None and self.conf.cloud:
                self._worker = threading.Thread(
                    target=self._work, daemon=True, name='upload-release')
                self._worker.start()

    def _work(self):
        interval = self._root.controller.reap_interval
        clean_at = time.monotonic()
        while True:
            try:
                if time.monotonic() >= clean_at:
                    clean_at = time.monotonic() + interval
                    if self._store is not None:
                        self.clean_up(self._store)
                try:
                    job = self._ended.get(
                        timeout=max(0.0, clean_at - time.monotonic()))
                except queue.Empty:
                    continue
                if job is None:
                    return
                self.release(job)
            except Exception:
                LOG.exception('The upload release worker failed; it goes '
                              'on.')

    def release(self, job):
        """The job ended: its credentials go, and every image made for it
        but the one it uploaded."""
        if not self.conf.cloud or job['kind'] != jobspec.BUILD_IMAGE:
            return
        try:
            cloud = self._connection()
            for credential in self._credentials(cloud):
                if upload_credentials.job_of(credential.name) == job['id']:
                    self._drop(cloud, credential, job)
        except Exception as e:
            LOG.warning('Job %s: could not remove its upload credentials: '
                        '%s', job['id'], upload_credentials.message(e))

    def clean_up(self, store):
        """Remove the credentials (and their unused images) of jobs that
        ended or that this controller does not know."""
        if not self.conf.cloud:
            return
        try:
            cloud = self._connection()
            for credential in self._credentials(cloud):
                job_id = upload_credentials.job_of(credential.name)
                described = upload_credentials.parse_description(
                    credential.description)
                if job_id is None or described is None or (
                        described[1] != self._root.controller.controller_id):
                    continue  # not ours
                try:
                    job = store.get_job(job_id)
                except exception.JobNotFound:
                    job = None
                if job is None or job['state'] in states.TERMINAL:
                    self._drop(cloud, credential, job)
        except Exception as e:
            LOG.warning('Could not look for leftover upload credentials: '
                        '%s', upload_credentials.message(e))

    def _credentials(self, cloud):
        return list(cloud.identity.application_credentials(
            cloud.current_user_id))

    def _drop(self, cloud, credential, job):
        """``job``: None if the job is not known (retention pruned it)."""
        upload_credentials.delete_credential(cloud, credential.id)
        described = upload_credentials.parse_description(
            credential.description)
        if described is None:
            return
        image_id = described[0]
        if job is None:
            # It may be the image of a build that succeeded, whose release
            # failed: an uploaded image stays.
            if not self._is_active(cloud, image_id):
                upload_credentials.delete_image(cloud, image_id)
        elif job['state'] == states.SUCCEEDED and (
                job.get('image_id') == image_id):
            self._reassert(cloud, image_id, job)
        else:
            upload_credentials.delete_image(cloud, image_id)

    def _is_active(self, cloud, image_id):
        """Whether the image is active; True when that is not known."""
        import openstack
        try:
            return cloud.image.get_image(image_id).status == 'active'
        except openstack.exceptions.NotFoundException:
            return False
        except Exception as e:
            LOG.warning('Could not look at image %s: %s', image_id,
                        upload_credentials.message(e))
            return True

    def _reassert(self, cloud, image_id, job):
        """The node could change its image's properties: what the
        controller vouches for is set again, and the image made deletable
        and private, or shared with the job's project (the image is in the
        controller's project: the job's caller gave no token to make it in
        its own)."""
        project_id = job.get('project_id')
        if project_id == cloud.current_project_id:
            project_id = None  # its own image
        try:
            cloud.image.update_image(
                image_id, name=job['spec']['image_name'], build_id=job['id'],
                source_url=jobspec.redact_url(job['spec']['git_url']),
                visibility='shared' if project_id else 'private',
                is_protected=False)
            if project_id and cloud.image.find_member(
                    project_id, image_id) is None:
                cloud.image.add_member(image_id, member_id=project_id)
        except Exception as e:
            LOG.warning('Job %s: could not set the provenance or sharing of '
                        'image %s again: %s', job['id'], image_id,
                        upload_credentials.message(e))
