"""Upload credentials: what the controller mints for one upload.

For a build_image job with no token of its caller, and ``[build_image]
cloud`` set, the controller creates the image record (queued, named, with
the provenance it knows), then an application credential of its own user
named ``buildfarm-job-<job id>-<random>``, restricted by access rules to
that one image (GET, PATCH of its properties, PUT of its data) and
expiring with the job; the node gets a token of it.

A credential's description names its image and controller: Keystone is
the record of what was minted (``upload_release`` reads it back).
"""

import datetime
import logging
import secrets

from buildfarm import exception
from buildfarm import jobspec

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

    def __init__(self, conf, pools=None):
        """``pools``: to find a label's boot_timeout (the credential's
        lifetime covers the boot of the node the job waits for)."""
        self.conf = conf.build_image
        self._root = conf
        self._pools = pools

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
                'Glance at %s: %s' % (endpoint, message(e)))
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
            delete_image(cloud, image.id)
            raise exception.ImageBuildError(
                'The controller could not make an upload credential in '
                'cloud %r: %s' % (self.conf.cloud, message(e)))
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
            delete_credential(cloud, credential.id)
            raise


def delete_credential(cloud, credential_id):
    try:
        cloud.identity.delete_application_credential(
            cloud.current_user_id, credential_id, ignore_missing=True)
    except Exception as e:
        LOG.warning('Could not delete upload credential %s: %s',
                    credential_id, message(e))


def delete_image(cloud, image_id):
    try:
        try:
            cloud.image.delete_image(image_id, ignore_missing=True)
        except Exception:
            # The node may have protected it.
            cloud.image.update_image(image_id, is_protected=False)
            cloud.image.delete_image(image_id, ignore_missing=True)
    except Exception as e:
        LOG.warning('Could not delete unused image %s: %s', image_id,
                    message(e))


def message(error):
    """An error in one short line, for a log or a reason."""
    text = ' '.join(str(error).split())
    return text[:500] or type(error).__name__
