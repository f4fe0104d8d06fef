import subprocess
import threading
import uuid

import pytest

from buildfarm.agent import logstream
from buildfarm.common import config
from buildfarm.common import rpc
from buildfarm.controller import service
from buildfarm.db import api as db_api

NODE_KEY = 'unit-test-node-key'


@pytest.fixture
def conf(tmp_path):
    conf = config.load([], default_config_files=[])
    url = 'fake://unit-%s/' % uuid.uuid4().hex
    conf.set_override('transport_url', url)
    conf.set_override('connection', 'sqlite:///%s/db.sqlite' % tmp_path,
                      'database')
    conf.set_override('log_dir', str(tmp_path / 'logs'), 'controller')
    conf.set_override('driver', 'fake', 'controller')
    conf.set_override('node_secret_key', NODE_KEY, 'controller')
    conf.set_override('monitor_interval', 3600, 'controller')
    conf.set_override('auth_strategy', 'noauth')
    yield conf
    rpc.forget_transport(url)


def pytest_configure(config):
    config.addinivalue_line(
        'markers', 'boot_timeout(seconds): the controller fixture\'s '
        'default label gets this boot_timeout')


@pytest.fixture
def controller(conf, request):
    marker = request.node.get_closest_marker('boot_timeout')
    if marker is not None:
        conf.set_override('boot_timeout', marker.args[0], 'controller')
    ctl = service.ControllerService(conf)
    ctl.start()
    yield ctl
    ctl.stop()


@pytest.fixture
def git_repo(tmp_path):
    """A local repository with a branch main, a tag v1 and two commits."""
    path = tmp_path / 'repo'
    env = {'GIT_AUTHOR_NAME': 't', 'GIT_AUTHOR_EMAIL': 't@example.com',
           'GIT_COMMITTER_NAME': 't', 'GIT_COMMITTER_EMAIL': 't@example.com',
           'PATH': '/usr/bin:/bin'}

    def git(*args):
        return subprocess.run(['git', *args], cwd=path, env=env, check=True,
                              capture_output=True, text=True).stdout.strip()

    path.mkdir()
    git('init', '-q', '-b', 'main')
    (path / 'file').write_text('one\n')
    git('add', 'file')
    git('commit', '-qm', 'one')
    git('tag', 'v1')
    first = git('rev-parse', 'HEAD')
    (path / 'file').write_text('two\n')
    git('commit', '-qam', 'two')
    return {'path': str(path), 'url': 'file://%s' % path,
            'first': first, 'head': git('rev-parse', 'HEAD')}


@pytest.fixture
def store(tmp_path):
    """An empty job store, migrated."""
    store = db_api.JobStore('sqlite:///%s/db.sqlite' % tmp_path)
    store.upgrade()
    return store


def run_job(runner_class, conf, message):
    """Run ``message`` (a JobMessage) with an agent's ``runner_class``;
    (its report, its log as sent)."""
    chunks = []
    log = logstream.LogStream(lambda seq, data: chunks.append(data),
                              10 ** 6, 0.01, secrets=message.secrets())
    work = runner_class(conf, message, log, threading.Event())
    try:
        report = work.run()
    finally:
        log.close()
        work.cleanup()
    return report, ''.join(chunks)
