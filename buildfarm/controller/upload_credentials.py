"""The upload credentials a controller mints, from birth to removal.

For a build_image job with no token of its caller, and ``[build_image]
cloud`` set, the controller creates the image record (queued, named, with
the provenance it knows), then an application credential of its own user
named ``buildfarm-job-<job id>-<random>``, restricted by access rules to
that one image (GET, PATCH of its properties, PUT of its data) and
expiring with the job; the node gets a token of it. When the job ends,
the credential goes, and so does every image record made for the job but
the one it reported, which is re-asserted and shared with the job's
project.

Keystone is the record of what was minted: a credential's description
names its image and controller, so a restarted controller finds and
removes the leftovers of its jobs that ended (``clean_up``), and leaves
those of other controllers sharing the user alone.

Every call to the cloud has a timeout (``[build_image] api_timeout``),
and releases run in a worker thread of their own, never on the control
loop or an RPC thread: a Keystone or Glance that does not answer delays
only the removal of leftovers. The worker also runs ``clean_up`` every
``[controller] reap_interval``, so a release that failed is done later.
"""

import datetime
import logging
import queue
import secrets
import threading
import time

from buildfarm import exception
from buildfarm import jobspec
from buildfarm import states

LOG = logging.getLogger(__name__)
PREFIX = 'buildfarm-job-'
_DESCRIPTION = 'image %s of controller %s'


def credential_name(job_id):
    # Unique per message: a job handed over again (another node, a
    # restart) gets a credential of its own while the first may still be
    # in use.
    return '%s%s-%s' % (PREFIX, job_id, secrets.token_hex(4))


def job_of(name):
    """The job id of a credential name this module made, else None."""
    if not name or not name.startswith(PREFIX):
        return None
    job_id, _, suffix = name[len(PREFIX):].rpartition('-')
    return job_id if job_id and len(suffix) == 8 else None


def parse_description(text):
    """(image id, controller id) of a credential's description, or
    None."""
    words = (text or '').split(' ')
    if len(words) == 5 and _DESCRIPTION % (words[1], words[4]) == text:
        return words[1], words[4]
    return None


def access_rules(image_id):
    """What a minted token may do: read, label and fill that one image."""
    path = '/v2/images/%s' % image_id
    return [{'service': 'image', 'method': 'GET', 'path': path},
            {'service': 'image', 'method': 'PATCH', 'path': path},
            {'service': 'image', 'method': 'PUT', 'path': path + '/file'}]


class UploadCredentials:

    def __init__(self, conf, connection, pools=None):
        """``connection``: returns the connection to ``[build_image]
        cloud``. ``pools``: to find a label's boot_timeout (the
        credential's lifetime covers the boot of the node the job waits
        for)."""
        self.conf = conf.build_image
        self._root = conf
        self._pools = pools
        self._connection = connection
        self._store = None
        self._ended = queue.Queue()  # jobs to release
        self._worker = None
        self._worker_lock = threading.Lock()

    # Minting

    def _expires_at(self, job):
        """The job's latest possible end, with a margin: a boot, the run
        deadline the watchdog enforces, and upload_credential_margin."""
        ctrl = self._root.controller
        boot = ctrl.boot_timeout
        if self._pools is not None:
            try:
                boot = self._pools.get(job['label']).boot_timeout
            except exception.BuildfarmError:
                pass
        seconds = (boot + job['spec']['timeout'] +
                   self._root.agent.clone_timeout +
                   2 * self._root.agent.kill_grace + ctrl.cancel_grace +
                   self.conf.upload_credential_margin)
        return (datetime.datetime.now(datetime.timezone.utc) +
                datetime.timedelta(seconds=seconds))

    def mint(self, cloud, endpoint, job, spec):
        """(image id, token): a queued image and a token that can only
        fill it."""
        if job is None:
            raise exception.ImageBuildError(
                'An upload credential is minted for a job only.')
        try:
            image = cloud.image.create_image(
                name=spec['image_name'], disk_format='raw',
                container_format='docker', allow_duplicates=True,
                build_id=job['id'],
                source_url=jobspec.redact_url(spec['git_url']))
        except Exception as e:
            raise exception.ImageBuildError(
                'The controller could not create the image record in '
                'Glance at %s: %s' % (endpoint, _message(e)))
        try:
            expires = self._expires_at(job)
            credential = cloud.identity.create_application_credential(
                cloud.current_user_id, credential_name(job['id']),
                description=_DESCRIPTION % (
                    image.id, self._root.controller.controller_id),
                expires_at=expires.strftime('%Y-%m-%dT%H:%M:%S'),
                roles=[{'name': self.conf.upload_role}],
                access_rules=access_rules(image.id))
            token, token_expires = self._token(cloud, credential)
        except Exception as e:
            self._delete_image(cloud, image.id)
            raise exception.ImageBuildError(
                'The controller could not make an upload credential in '
                'cloud %r: %s' % (self.conf.cloud, _message(e)))
        LOG.info('Job %s: upload credential %s for image %s, until %s.',
                 job['id'], credential.id, image.id, expires.isoformat())
        if token_expires and token_expires < expires - datetime.timedelta(
                seconds=self.conf.upload_credential_margin):
            LOG.warning('Job %s: its upload token expires at %s, before the '
                        'job\'s deadline (Keystone\'s [token] expiration '
                        'is shorter): a long build will fail to upload.',
                        job['id'], token_expires.isoformat())
        return image.id, token

    def _token(self, cloud, credential):
        """(token, its expiry) of the credential."""
        from keystoneauth1.identity import v3
        from keystoneauth1 import session
        try:
            auth = v3.ApplicationCredential(
                auth_url=cloud.session.get_endpoint(
                    service_type='identity', interface='public'),
                application_credential_id=credential.id,
                application_credential_secret=credential.secret)
            access = auth.get_access(
                session.Session(auth=auth, verify=cloud.session.verify,
                                timeout=self.conf.api_timeout))
            return access.auth_token, access.expires
        except Exception:
            self._delete_credential(cloud, credential.id)
            raise

    # Releasing

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
                if job_of(credential.name) == job['id']:
                    self._drop(cloud, credential, job)
        except Exception as e:
            LOG.warning('Job %s: could not remove its upload credentials: '
                        '%s', job['id'], _message(e))

    def clean_up(self, store):
        """Remove the credentials (and their unused images) of jobs that
        ended or that this controller does not know."""
        if not self.conf.cloud:
            return
        try:
            cloud = self._connection()
            for credential in self._credentials(cloud):
                job_id = job_of(credential.name)
                described = parse_description(credential.description)
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
                        '%s', _message(e))

    def _credentials(self, cloud):
        return list(cloud.identity.application_credentials(
            cloud.current_user_id))

    def _drop(self, cloud, credential, job):
        """``job``: None if the job is not known (retention pruned it)."""
        self._delete_credential(cloud, credential.id)
        described = parse_description(credential.description)
        if described is None:
            return
        image_id = described[0]
        if job is None:
            # It may be the image of a build that succeeded, whose release
            # failed: an uploaded image stays.
            if not self._is_active(cloud, image_id):
                self._delete_image(cloud, image_id)
        elif job['state'] == states.SUCCEEDED and (
                job.get('image_id') == image_id):
            self._reassert(cloud, image_id, job)
        else:
            self._delete_image(cloud, image_id)

    def _is_active(self, cloud, image_id):
        """Whether the image is active; True when that is not known."""
        import openstack
        try:
            return cloud.image.get_image(image_id).status == 'active'
        except openstack.exceptions.NotFoundException:
            return False
        except Exception as e:
            LOG.warning('Could not look at image %s: %s', image_id,
                        _message(e))
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
                        _message(e))

    def _delete_credential(self, cloud, credential_id):
        try:
            cloud.identity.delete_application_credential(
                cloud.current_user_id, credential_id, ignore_missing=True)
        except Exception as e:
            LOG.warning('Could not delete upload credential %s: %s',
                        credential_id, _message(e))

    def _delete_image(self, cloud, image_id):
        try:
            try:
                cloud.image.delete_image(image_id, ignore_missing=True)
            except Exception:
                # The node may have protected it.
                cloud.image.update_image(image_id, is_protected=False)
                cloud.image.delete_image(image_id, ignore_missing=True)
        except Exception as e:
            LOG.warning('Could not delete unused image %s: %s', image_id,
                        _message(e))


def _message(error):
    text = ' '.join(str(error).split())
    return text[:500] or type(error).__name__
