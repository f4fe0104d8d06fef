"""One build_image job: clone, pick a language pack, compile the app as the
job user, assemble an image of it on the runtime image, upload it to
Glance."""

import os
import re
import shutil
import time

from buildfarm.agent import buildpack
from buildfarm.agent import imagearchive
from buildfarm.agent import logstream
from buildfarm.agent import runner
from buildfarm.common import glance
from buildfarm import exception
from buildfarm import jobspec
from buildfarm import states

# Secrets shorter than this are masked in the log but not looked for in
# the image: so short a value turns up in ordinary files by chance.
MIN_IMAGE_SECRET = 8


def docker_tag(image_name, commit):
    """A valid Docker reference for the image: its name, lower case, with
    anything Docker refuses replaced, tagged with the short commit."""
    name = re.sub(r'[^a-z0-9._/-]+', '-', image_name.lower()).strip('._/-')
    return '%s:%s' % (name or 'app', (commit or 'latest')[:12])


class BuildImageRunner(runner.JobRunner):
    """Runs a build_image job."""

    def __init__(self, conf, job, log, cancel_event, wait_ready=None):
        super().__init__(conf, job, log, cancel_event, wait_ready)
        self.upload_target = job.upload
        self.cache = os.path.join(self.workdir, 'cache')
        self.env_dir = os.path.join(self.workdir, 'env')

    def run(self):
        report = self.new_report()
        if not self.clone(report) or not self.may_start(report):
            return report
        try:
            self._build(report)
        except exception.ImageBuildError as e:
            # The reason leaves the node unmasked: it may quote a pack's
            # output.
            masker = logstream.Masker(self.job.secrets())
            report.state = states.ERROR
            report.reason = masker.feed(str(e).encode(), final=True).decode(
                errors='replace')
            self.log.note(report.reason)
        return report

    def _write_env_dir(self):
        """The Heroku ENV_DIR: one file per variable of the job."""
        os.makedirs(self.env_dir, 0o700)
        env = dict(self.spec.env or {}, **(self.spec.secret_env or {}))
        for name, value in env.items():
            fd = os.open(os.path.join(self.env_dir, name),
                         os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, 'w') as f:
                f.write(value)

    def _build(self, report):
        os.makedirs(self.cache)
        self._write_env_dir()
        self.give_to_job_user(self.src, self.home, self.cache, self.env_dir)
        packs = buildpack.find_packs(self.conf.packs_dir)
        pack, warning = buildpack.select(
            packs, self.src, self.spec.language_pack, self.user)
        if warning:
            self.log.note('warning: ' + warning)
        self.log.note('language pack %s %s' % (pack.name, pack.version))

        outcome = self.run_command(
            pack.compile_command(self.src, self.cache, self.env_dir),
            self.src, self.spec.timeout)
        report.record('compile', outcome.seconds)
        if not outcome.succeeded:
            outcome.report(report, 'The %s pack\'s compile step' % pack.name,
                           self.spec.timeout)
            report.reason += ' Its output is in the job\'s log.'
            return
        released = buildpack.release(pack, self.src, self.user)
        types = released['process_types']
        if not types:
            raise exception.ImageBuildError(
                'The %s pack released no process type and the app has no '
                'Procfile: add a Procfile ("web: COMMAND").' % pack.name)
        process_type = 'web' if 'web' in types else sorted(types)[0]
        self.log.note('process %s: %s' % (process_type, types[process_type]))

        start = time.monotonic()
        archive, tag, image_id = self._assemble(report, pack, released,
                                                types[process_type])
        report.record('assemble', time.monotonic() - start)
        start = time.monotonic()
        image = glance.upload(
            self.upload_target.to_dict(), archive, self.spec.image_name, {
                'build_id': self.job_id,
                'commit_sha': report.commit,
                'source_url': jobspec.redact_url(self.spec.git_url),
                'language_pack': pack.name,
                'language_pack_version': pack.version,
                'docker_tag': tag,
                'docker_image_id': 'sha256:' + image_id,
            }, self._progress())
        report.record('upload', time.monotonic() - start)
        report.state, report.exit_code = states.SUCCEEDED, 0
        report.image_id = image.id
        self.log.note('uploaded image %s (%s, %.1f MiB) to Glance' % (
            image.id, tag, image.size / 2 ** 20))

    def _assemble(self, report, pack, released, process):
        base = self.conf.runtime_archive
        if not base or not os.path.isfile(base):
            raise exception.ImageBuildError(
                'This node has no archive of the runtime image (%s): build '
                'the runtime image with "buildfarm image build --format '
                'docker" on the controller\'s host.' % (base or 'not set'))
        # The history stays out of the image: it may hold what the commit
        # no longer does.
        shutil.rmtree(os.path.join(self.src, '.git'), ignore_errors=True)
        tag = docker_tag(self.spec.image_name, report.commit)
        env = dict(released['config_vars'], HOME='/' + imagearchive.APP_DIR,
                   PORT=str(self.upload_target.port))
        user = ('%d:%d' % (self.user.pw_uid, self.user.pw_gid)
                if self.user else '%d:%d' % (os.getuid(), os.getgid()))
        archive = os.path.join(self.workdir, 'image.tar')
        self.log.note('assembling %s on the runtime image' % tag)
        image_id = imagearchive.assemble(
            base, self.src, archive, tag, process, env=env, user=user,
            owner=self.user.pw_uid if self.user else None,
            secrets=self._image_secrets(),
            max_bytes=self.upload_target.max_bytes,
            labels={
                'org.opencontainers.image.source':
                    jobspec.redact_url(self.spec.git_url),
                'org.opencontainers.image.revision': report.commit,
                'org.opencontainers.image.title': self.spec.image_name,
                'buildfarm.build-id': self.job_id,
                'buildfarm.language-pack': '%s %s' % (pack.name,
                                                      pack.version),
            })
        size = os.path.getsize(archive)
        limit = self.upload_target.max_bytes
        if size > limit:
            raise exception.ImageBuildError(
                'The image is %.1f MiB, over the limit of %d MiB '
                '([build_image] max_image_size); it was not uploaded.'
                % (size / 2 ** 20, limit // 2 ** 20))
        return archive, tag, image_id

    def _image_secrets(self):
        """{value: what an error may call it} of the job's secrets."""
        named = dict.fromkeys(self.job.secrets(),
                              'a token or the git credentials of the job')
        for name, value in (self.spec.secret_env or {}).items():
            named[value] = 'the value of secret_env %s' % name
        return {value: what for value, what in named.items()
                if len(value) >= MIN_IMAGE_SECRET}

    def _progress(self):
        """A progress callback that notes every tenth of the upload."""
        shown = [0]

        def progress(sent, size):
            tenth = sent * 10 // size if size else 10
            if tenth > shown[0]:
                shown[0] = tenth
                self.log.note('uploaded %d%% (%.1f of %.1f MiB)' % (
                    tenth * 10, sent / 2 ** 20, size / 2 ** 20))
        return progress
