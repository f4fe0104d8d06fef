"""[mistral] cloud against the real test Keystone: the controller finds
Mistral in the catalog and completes action executions with a Keystone
token of its user. Mistral is a small HTTP server registered as the
workflowv2 endpoint, which checks each token with Keystone."""

import http.server
import json
import threading
import uuid

import pytest

from buildfarm.common import config
from buildfarm.controller import callbacks
from buildfarm.db import api as db_api
from buildfarm import states
from tests.functional import conftest

EXECUTION = '2b7c8f0e-5d4a-4e3b-9c21-0f1e2d3c4b5a'


class _Mistral(http.server.ThreadingHTTPServer):

    def __init__(self, keystone_session, keystone_url):
        self.keystone = keystone_session
        self.keystone_url = keystone_url
        self.puts = []
        self.gets = []
        self.owner = None   # the project of every action execution
        super().__init__(('127.0.0.1', 0), _Handler)


class _Handler(http.server.BaseHTTPRequestHandler):

    def _user(self):
        answer = self.server.keystone.get(
            self.server.keystone_url + '/v3/auth/tokens', raise_exc=False,
            headers={'X-Subject-Token': self.headers.get('X-Auth-Token', '')})
        return answer.json()['token']['user']['name'] if answer.ok else None

    def do_GET(self):
        self.server.gets.append((self.path, self._user()))
        body = json.dumps({'project_id': self.server.owner}).encode()
        self.send_response(200)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_PUT(self):
        body = json.loads(self.rfile.read(int(self.headers['Content-Length'])))
        user = self._user()
        self.server.puts.append((self.path, user, body))
        self.send_response(200 if user else 401)
        self.send_header('Content-Length', '2')
        self.end_headers()
        self.wfile.write(b'{}')

    def log_message(self, *args):
        pass


@pytest.fixture
def catalog_mistral(keystone):
    """The fake Mistral, in the test Keystone's catalog while the test
    runs."""
    admin = keystone.connect('buildfarm-admin')
    server = _Mistral(admin.session, keystone.url)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    service = admin.identity.create_service(
        name='bf-test-mistral-%s' % uuid.uuid4().hex[:6], type='workflowv2')
    admin.identity.create_endpoint(
        service_id=service.id, interface='public', region_id='RegionOne',
        url='http://127.0.0.1:%d/v2' % server.server_address[1])
    yield server
    admin.identity.delete_service(service)  # its endpoints go with it
    server.shutdown()


def test_callbacks_authenticate_with_the_clouds_keystone(
        keystone, catalog_mistral, monkeypatch, tmp_path):
    monkeypatch.setenv('OS_CLIENT_CONFIG_FILE', keystone.clouds_yaml)
    conf = config.load([], default_config_files=[])
    conf.set_override('cloud', 'buildfarm-controller', 'mistral')
    conf.set_override('retry_interval', 1, 'mistral')
    store = db_api.JobStore('sqlite:///%s/db.sqlite' % tmp_path)
    store.upgrade()
    store.create_job('job-1', 'repo_job', 'default', {'git_url': 'x'},
                     str(tmp_path / 'job-1.log'),
                     callback={'mistral_action_execution_id': EXECUTION})
    store.transition_job('job-1', states.RUNNING)
    store.transition_job('job-1', states.SUCCEEDED, exit_code=0)
    sender = callbacks.MistralCallbacks(conf, store)
    sender.start()
    try:
        conftest.wait_until(
            lambda: store.get_job('job-1')['callback_sent_at'], timeout=30,
            what='the callback sent')
    finally:
        sender.stop()
    path, user, body = catalog_mistral.puts[-1]
    assert path == '/v2/action_executions/' + EXECUTION
    assert user == 'buildfarm'
    assert body['state'] == 'SUCCESS'


def test_only_an_execution_of_the_jobs_project_is_completed(
        keystone, catalog_mistral, monkeypatch, tmp_path):
    monkeypatch.setenv('OS_CLIENT_CONFIG_FILE', keystone.clouds_yaml)
    conf = config.load([], default_config_files=[])
    conf.set_override('cloud', 'buildfarm-controller', 'mistral')
    store = db_api.JobStore('sqlite:///%s/db.sqlite' % tmp_path)
    store.upgrade()
    catalog_mistral.owner = 'project-a'
    for job_id, project in (('mine', 'project-a'), ('theirs', 'project-b')):
        store.create_job(job_id, 'repo_job', 'default', {'git_url': 'x'},
                         str(tmp_path / job_id), project_id=project,
                         callback={'mistral_action_execution_id': EXECUTION})
        store.transition_job(job_id, states.RUNNING)
        store.transition_job(job_id, states.SUCCEEDED, exit_code=0)
    sender = callbacks.MistralCallbacks(conf, store)
    sender.start()
    try:
        for job_id in ('mine', 'theirs'):
            conftest.wait_until(
                lambda: store.get_job(job_id)['callback_sent_at'],
                timeout=30, what='the callback handled')
    finally:
        sender.stop()
    # Both asked whose execution it is, with the controller's token; only
    # the job of the execution's project completed it.
    assert [u for _, u in catalog_mistral.gets] == ['buildfarm'] * 2
    assert len(catalog_mistral.puts) == 1
    assert json.loads(catalog_mistral.puts[0][2]['output'])['job_id'] == (
        'mine')
