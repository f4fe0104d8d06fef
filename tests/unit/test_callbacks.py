"""The controller completes Mistral action executions: against a small
HTTP server standing in for Mistral's API, on a real job store."""

import http.server
import json
import threading
import time

import pytest
import sqlalchemy as sa

from buildfarm.controller import callbacks
from buildfarm.db import api as db_api
from buildfarm import states

EXECUTION = '2b7c8f0e-5d4a-4e3b-9c21-0f1e2d3c4b5a'


class FakeMistral(http.server.ThreadingHTTPServer):
    """Answers PUTs with the given statuses in turn (200 once used up)
    and records them."""

    def __init__(self, statuses):
        self.statuses = list(statuses)
        self.puts = []
        self.owner = 'alpha'   # the project of every action execution
        super().__init__(('127.0.0.1', 0), _Handler)

    @property
    def url(self):
        return 'http://127.0.0.1:%d/v2' % self.server_address[1]


class _Handler(http.server.BaseHTTPRequestHandler):

    def do_PUT(self):
        body = self.rfile.read(int(self.headers['Content-Length']))
        self.server.puts.append((self.path, json.loads(body)))
        status = self.server.statuses.pop(0) if self.server.statuses else 200
        self.send_response(status)
        self.send_header('Content-Length', '2')
        self.end_headers()
        self.wfile.write(b'{}')

    def do_GET(self):
        body = json.dumps({'id': self.path.rsplit('/', 1)[-1],
                           'project_id': self.server.owner}).encode()
        self.send_response(200)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def mistral():
    servers = []

    def serve(*statuses):
        server = FakeMistral(statuses)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield serve
    for server in servers:
        server.shutdown()


@pytest.fixture
def store(conf):
    store = db_api.JobStore(conf.database.connection)
    store.upgrade()
    return store


def _ended_job(store, state, execution_id=EXECUTION, project_id=None,
               **values):
    job_id = 'job-%s' % state
    store.create_job(job_id, 'repo_job', 'default', {'git_url': 'x'},
                     '/logs/%s.log' % job_id,
                     callback={'mistral_action_execution_id': execution_id},
                     project_id=project_id)
    store.transition_job(job_id, states.RUNNING)
    if state != states.RUNNING:
        store.transition_job(job_id, state, **values)
    return job_id


def _sender(conf, store, url):
    conf.set_override('url', url, 'mistral')
    conf.set_override('retry_interval', 1, 'mistral')
    sender = callbacks.MistralCallbacks(conf, store)
    sender.start()
    return sender


def _wait_sent(store, job_id, timeout=10):
    deadline = time.monotonic() + timeout
    while store.get_job(job_id)['callback_sent_at'] is None:
        assert time.monotonic() < deadline, 'callback not sent'
        time.sleep(0.1)


@pytest.mark.parametrize('refusal', [503, 401])
def test_a_succeeded_job_completes_its_action_after_mistral_recovers(
        conf, store, mistral, refusal):
    server = mistral(refusal)
    job_id = _ended_job(store, states.SUCCEEDED, exit_code=0, commit='abc')
    sender = _sender(conf, store, server.url)
    try:
        _wait_sent(store, job_id)
    finally:
        sender.stop()
    assert len(server.puts) == 2            # refused once, then retried
    path, body = server.puts[-1]
    assert path == '/v2/action_executions/' + EXECUTION
    assert body['state'] == 'SUCCESS'
    output = json.loads(body['output'])
    assert (output['job_id'], output['exit_code'], output['commit']) == (
        job_id, 0, 'abc')
    assert output['log_path'] == '/logs/%s.log' % job_id


def test_a_failed_job_is_an_error_and_a_refusal_is_not_retried(
        conf, store, mistral):
    server = mistral(409)
    job_id = _ended_job(store, states.FAILED, exit_code=3,
                        reason='The command exited with status 3.')
    sender = _sender(conf, store, server.url)
    try:
        _wait_sent(store, job_id)
        time.sleep(1.5)
    finally:
        sender.stop()
    assert len(server.puts) == 1
    body = server.puts[0][1]
    assert body['state'] == 'ERROR'
    assert json.loads(body['output'])['reason'] == (
        'The command exited with status 3.')


def test_a_running_job_is_not_reported_and_a_restart_loses_nothing(
        conf, store, mistral):
    server = mistral()
    job_id = _ended_job(store, states.RUNNING)
    sender = _sender(conf, store, server.url)
    try:
        time.sleep(1.5)
    finally:
        sender.stop()
    assert server.puts == []
    # It ends while Mistral cannot be reached: nothing is marked sent.
    sender = _sender(conf, store, 'http://127.0.0.1:9/v2')
    try:
        store.transition_job(job_id, states.SUCCEEDED)
        time.sleep(1.5)
    finally:
        sender.stop()
    assert store.get_job(job_id)['callback_sent_at'] is None
    # A new controller, with Mistral back, sends what was due.
    sender = _sender(conf, store, server.url)
    try:
        _wait_sent(store, job_id)
    finally:
        sender.stop()
    assert [p for p, _ in server.puts] == [
        '/v2/action_executions/' + EXECUTION]


def test_only_ended_jobs_with_a_callback_are_due(store):
    store.create_job('plain', 'repo_job', 'default', {'git_url': 'x'},
                     '/logs/plain.log')
    store.transition_job('plain', states.CANCELLED)
    assert store.callbacks_due() == []
    job_id = _ended_job(store, states.CANCELLED)
    assert [j['id'] for j in store.callbacks_due()] == [job_id]


def test_the_due_jobs_are_found_by_their_index(store):
    statements = []
    sa.event.listen(store.engine, 'before_cursor_execute',
                    lambda conn, cursor, statement, params, *args:
                    statements.append((statement, params)))
    store.callbacks_due()
    statement, params = statements[-1]
    with store.engine.connect() as connection:
        plan = connection.exec_driver_sql(
            'EXPLAIN QUERY PLAN ' + statement, params).fetchall()
    assert 'ix_jobs_callback_due' in str(plan)


def test_a_stored_execution_id_that_is_not_a_uuid_is_never_sent(
        conf, store, mistral, caplog):
    # Submission refuses such ids; one already stored must not aim the
    # controller's request at another execution.
    server = mistral()
    job_id = _ended_job(store, states.SUCCEEDED,
                        execution_id='../executions/OTHER-ID#')
    sender = _sender(conf, store, server.url)
    try:
        _wait_sent(store, job_id)
    finally:
        sender.stop()
    assert server.puts == []
    assert 'is not a UUID; the result is not sent' in caplog.text


@pytest.mark.parametrize('project, sent', [('alpha', True), ('beta', False)])
def test_only_an_execution_of_the_jobs_project_is_completed(
        conf, store, mistral, project, sent):
    # A caller of project beta names an execution of project alpha: the
    # controller's credentials could complete it; they are not used.
    server = mistral()
    job_id = _ended_job(store, states.SUCCEEDED, project_id=project,
                        exit_code=0)
    sender = _sender(conf, store, server.url)
    try:
        _wait_sent(store, job_id)
    finally:
        sender.stop()
    assert len(server.puts) == (1 if sent else 0)
