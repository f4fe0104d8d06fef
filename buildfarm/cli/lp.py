"""buildfarm lp check: a language pack's sample apps, built and probed."""

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request

from cliff import lister
import docker

from buildfarm.agent import buildpack
from buildfarm.cli import common
from buildfarm.cli import run
from buildfarm.common import glance
from buildfarm.common import rpc
from buildfarm.controller import rpcapi
from buildfarm.controller import service
from buildfarm import exception
from buildfarm import states

_GIT_ENV = {'GIT_AUTHOR_NAME': 'buildfarm', 'GIT_COMMITTER_NAME': 'buildfarm',
            'GIT_AUTHOR_EMAIL': 'buildfarm@localhost',
            'GIT_COMMITTER_EMAIL': 'buildfarm@localhost'}
COLUMNS = ('app', 'result', 'detail', 'job_id')


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _git_repo(source, dest):
    """Commit a copy of ``source`` as the repository ``dest``."""
    shutil.copytree(source, dest)
    env = dict(os.environ, **_GIT_ENV)
    for args in (['init', '-q', '-b', 'main'], ['add', '-A'],
                 ['commit', '-qm', 'sample app']):
        subprocess.run(['git', *args], cwd=dest, env=env, check=True,
                       capture_output=True)


def _http_get(url, timeout):
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                return answer.read().decode(errors='replace')
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


class CheckPack(lister.Lister):
    """Build each sample app of a language pack element (its test-apps/)
    in a disposable Docker node with the element's working copy of the
    pack, upload it to Glance, run the image and probe it: HTTP on $PORT
    must answer what the app's expect.json says. Exits 1 if any app
    fails. Needs the broker, Docker and [build_image] image_endpoint (or
    cloud) of the configuration."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('element', help='the element directory, for '
                            'example elements/lp-python')
        parser.add_argument('--transport-url', help='broker (default: '
                            'transport_url of the configuration)')
        parser.add_argument('--probe-timeout', type=float, default=30,
                            help='seconds an app has to answer (default 30)')
        return parser

    def _pack(self, element):
        packs = buildpack.find_packs(
            os.path.join(element, 'static', 'opt', 'buildfarm', 'packs'))
        if len(packs) != 1:
            raise exception.InvalidJobSpec(
                '%s: a language pack element has one pack under '
                'static/opt/buildfarm/packs/ (found %s).'
                % (element, ', '.join(p.name for p in packs) or 'none'))
        apps_dir = os.path.join(element, 'test-apps')
        apps = sorted(a for a in os.listdir(apps_dir)) if os.path.isdir(
            apps_dir) else []
        if not apps:
            raise exception.InvalidJobSpec(
                '%s has no sample apps under test-apps/.' % element)
        return packs[0], [(a, os.path.join(apps_dir, a)) for a in apps]

    def take_action(self, args):
        element = os.path.realpath(args.element)
        pack, apps = self._pack(element)
        workdir = tempfile.mkdtemp(prefix='buildfarm-lp-check-')
        repos = os.path.join(workdir, 'repos')
        conf = run.all_in_one(self.app.conf, 'docker', workdir, [repos],
                              args.transport_url)
        conf.set_override('packs_dir', os.path.dirname(pack.path), 'node')
        conf.set_override('node_mounts', [os.path.dirname(pack.path)],
                          'docker')
        controller = None
        try:
            for name, source in apps:
                _git_repo(source, os.path.join(repos, name))
            controller = service.ControllerService(conf)
            controller.start()
            api = rpcapi.get_client(conf, controller.transport)
            target = controller.uploads.target({})
            rows = [self._check(api, target, pack, name, source, workdir,
                                args.probe_timeout)
                    for name, source in apps]
        finally:
            if controller is not None:
                controller.stop()
                rpc.forget_transport(conf.transport_url)
            shutil.rmtree(workdir, ignore_errors=True)
        failed = [r for r in rows if r[1] != 'pass']
        self.app.stderr.write('%s %s: %d of %d sample apps pass\n' % (
            pack.name, pack.version, len(rows) - len(failed), len(rows)))
        self.exit_status = 1 if failed else 0
        return COLUMNS, rows

    def run(self, parsed_args):
        self.exit_status = 0
        super().run(parsed_args)
        return self.exit_status

    def _check(self, api, target, pack, name, source, workdir, timeout):
        job = api.build_image({
            'git_url': 'file://' + os.path.join(workdir, 'repos', name),
            'image_name': 'lp-check-%s-%s' % (pack.name, name),
            'language_pack': pack.name})
        self.app.stderr.write('== %s: job %s\n' % (name, job['id']))
        job = common.follow(api, job['id'], self.app.stderr)
        if job['state'] != states.SUCCEEDED:
            return (name, 'fail', 'build %s: %s' % (job['state'],
                                                    job['reason']),
                    job['id'])
        try:
            answer = self._probe(target, job['image_id'], workdir, timeout)
        except Exception as e:
            return (name, 'fail', 'the image did not answer: %s' % e,
                    job['id'])
        finally:
            glance.connect(target['endpoint'], target['token']).image.\
                delete_image(job['image_id'], ignore_missing=True)
        expect_file = os.path.join(source, 'expect.json')
        if os.path.exists(expect_file):
            with open(expect_file) as f:
                expect = json.load(f)['expect']
            if expect not in answer:
                return (name, 'fail', 'expected %r, got %r'
                        % (expect, answer[:200]), job['id'])
        return (name, 'pass', 'answered %r' % answer.strip()[:200],
                job['id'])

    def _probe(self, target, image_id, workdir, timeout):
        """Download the image from Glance, load and run it; return what
        its web process answers on $PORT."""
        archive = os.path.join(workdir, 'probe.tar')
        conn = glance.connect(target['endpoint'], target['token'])
        conn.image.download_image(image_id, output=archive, stream=True)
        client = docker.DockerClient(base_url=self.app.conf.docker.base_url)
        with open(archive, 'rb') as f:
            image, = client.images.load(f)
        os.unlink(archive)
        port = _free_port()
        container = client.containers.run(
            image.id, detach=True, network_mode='host',
            environment={'PORT': str(port)})
        try:
            return _http_get('http://127.0.0.1:%d/' % port, timeout)
        finally:
            container.remove(force=True)
            client.images.remove(image.id, force=True)
