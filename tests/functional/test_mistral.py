"""Mistral drives the farm: buildfarm's actions in a real Mistral
(tools/start-mistral.sh: API, engine, executor, notifier, no Keystone),
the pipeline workbook of etc/mistral/ end to end on real Docker nodes and
Glance, the asynchronous completion through Mistral's API.

Mistral's executor reaches the farm through the buildfarm configuration
start-mistral.sh gives it: the broker vhost buildfarm-mistral-farm, where
these tests run their controller.
"""

import json
import os
import time
import types
import uuid

import openstack
import pytest
import requests

from buildfarm.mistral import actions
from buildfarm import states
from tests.functional import conftest

MISTRAL_URL = os.environ.get('BUILDFARM_TEST_MISTRAL',
                             'http://127.0.0.1:18989/v2')
FARM_URL = 'rabbit://guest:guest@127.0.0.1:5672/buildfarm-mistral-farm'
WORKBOOK = os.path.join(os.path.dirname(__file__), '..', '..', 'etc',
                        'mistral', 'buildfarm.yaml')
APP = os.path.join(os.path.dirname(__file__), '..', '..', 'elements',
                   'lp-python', 'test-apps', 'hello-web')


@pytest.fixture(scope='module')
def mistral():
    """The Mistral API, with the workbook of etc/mistral/ in it."""
    try:
        requests.get(MISTRAL_URL + '/', timeout=5).raise_for_status()
    except requests.RequestException as e:
        pytest.fail('No Mistral at %s (%s): start it with '
                    'tools/start-mistral.sh (see .ci/run).' % (MISTRAL_URL, e))
    with open(WORKBOOK) as f:
        definition = f.read()
    headers = {'Content-Type': 'text/plain'}
    answer = requests.put(MISTRAL_URL + '/workbooks', data=definition,
                          headers=headers, timeout=30)
    if answer.status_code == 404:
        answer = requests.post(MISTRAL_URL + '/workbooks', data=definition,
                               headers=headers, timeout=30)
    answer.raise_for_status()
    return MISTRAL_URL


@pytest.fixture(scope='module')
def mistral_farm(tmp_path_factory, docker_client):
    """A controller with Docker nodes where Mistral's executor looks for
    it, completing action executions through the Mistral API."""
    conf = conftest.controller_conf(
        tmp_path_factory.mktemp('mistral-farm'), FARM_URL,
        'bf-mistral-%s' % uuid.uuid4().hex[:8],
        {('mistral', 'url'): MISTRAL_URL})
    farm = conftest.Farm(conf, docker_client)
    yield farm
    farm.stop()
    for container in farm.containers():
        container.remove(force=True)


@pytest.fixture(scope='module')
def glance():
    return openstack.connect(auth_type='none',
                             image_endpoint_override=conftest.GLANCE_URL)


def _execute(mistral, workflow, inputs, timeout=400):
    """Run a workflow to its end; return its execution."""
    answer = requests.post(mistral + '/executions', json={
        'workflow_name': workflow, 'input': json.dumps(inputs)}, timeout=30)
    answer.raise_for_status()
    execution = answer.json()
    deadline = time.monotonic() + timeout
    while execution['state'] in ('IDLE', 'RUNNING'):
        assert time.monotonic() < deadline, execution
        time.sleep(1)
        execution = _get(mistral, 'executions', execution['id'])
    return execution


def _tasks(mistral, execution):
    """The execution's tasks by name, with their results."""
    answer = requests.get('%s/executions/%s/tasks' % (mistral,
                                                      execution['id']),
                          timeout=30).json()
    return {task['name']: _get(mistral, 'tasks', task['id'])
            for task in answer['tasks']}


def _get(mistral, collection, item):
    return requests.get('%s/%s/%s' % (mistral, collection, item),
                        timeout=30).json()


def _app(git_server):
    return conftest.serve_dir(git_server,
                              'pipeline-%s' % uuid.uuid4().hex[:6], APP)


def test_the_pipeline_tests_builds_and_promotes_a_commit(
        mistral, mistral_farm, git_server, glance):
    url, commit = _app(git_server)
    name = 'bf-pipeline-%s' % uuid.uuid4().hex[:6]
    execution = _execute(mistral, 'buildfarm.pipeline', {
        'git_url': url, 'image_name': name, 'test_cmd': 'test -f app.py',
        'glance_url': conftest.GLANCE_URL})
    output = json.loads(execution['output'])
    assert execution['state'] == 'SUCCESS', execution['state_info']
    assert output['commit'] == commit
    assert output['promoted_to'] == 'production'
    image = glance.image.get_image(output['image_id'])
    try:
        assert image.name == name
        assert image.properties['commit_sha'] == commit
        assert sorted(image.tags) == ['production', 'stage']
    finally:
        glance.image.delete_image(image.id)
    # Each async action was completed by the controller with its job's
    # outcome: the test job, then the build of the commit it tested.
    tasks = _tasks(mistral, execution)
    test_result = json.loads(tasks['unit_tests']['result'])
    build_result = json.loads(tasks['build_image']['result'])
    assert (test_result['kind'], test_result['state'],
            test_result['exit_code']) == ('repo_job', states.SUCCEEDED, 0)
    assert (build_result['kind'], build_result['state'],
            build_result['image_id']) == ('build_image', states.SUCCEEDED,
                                          output['image_id'])
    build_job = mistral_farm.api.get_job(build_result['job_id'])
    assert build_job['spec']['ref'] == commit
    assert build_job['callback_sent_at'] is not None
    assert {'clone', 'run'} <= set(test_result['timings'])


def test_a_failing_test_stops_the_pipeline_with_the_reason(
        mistral, mistral_farm, git_server):
    url, _ = _app(git_server)
    execution = _execute(mistral, 'buildfarm.pipeline', {
        'git_url': url, 'image_name': 'bf-never-built',
        'test_cmd': 'echo two tests failed; exit 3',
        'glance_url': conftest.GLANCE_URL})
    assert execution['state'] == 'ERROR'
    tasks = _tasks(mistral, execution)
    assert set(tasks) == {'unit_tests'}     # the gate held
    assert tasks['unit_tests']['state'] == 'ERROR'
    assert 'exited with status 3' in execution['state_info'], \
        execution['state_info']
    job_id = json.loads(tasks['unit_tests']['result'])['job_id']
    job = mistral_farm.api.get_job(job_id)
    assert (job['state'], job['exit_code']) == (states.FAILED, 3)
    assert 'two tests failed' in mistral_farm.log(job_id)


def test_build_image_uploads_with_the_callers_token_and_never_keeps_it(
        mistral, mistral_farm, git_server, glance):
    # An action run on its own, asynchronous as in a workflow. Without
    # Keystone, Mistral hands the caller's token to the action unchecked.
    url, commit = _app(git_server)
    token = 'tok-%s' % uuid.uuid4().hex
    answer = requests.post(mistral + '/action_executions', json={
        'name': 'buildfarm.build_image',
        'input': json.dumps({'git_url': url, 'image_name': 'bf-token'})},
        headers={'X-Auth-Token': token}, timeout=30)
    answer.raise_for_status()
    execution = answer.json()
    deadline = time.monotonic() + 300
    while execution['state'] == 'RUNNING':
        assert time.monotonic() < deadline, execution
        time.sleep(1)
        execution = _get(mistral, 'action_executions', execution['id'])
    assert execution['state'] == 'SUCCESS', execution
    result = json.loads(execution['output'])['result']
    try:
        assert result['commit'] == commit
        job = mistral_farm.api.get_job(result['job_id'])
        assert job['spec']['token'] == '***'    # one was given, not kept
        assert token not in mistral_farm.log(job['id'])
        db = mistral_farm.conf.database.connection.replace('sqlite:///', '')
        with open(db, 'rb') as f:
            assert token.encode() not in f.read()
    finally:
        glance.image.delete_image(result['image_id'])


def test_pool_scale_from_a_workflow_changes_the_pool(mistral, mistral_farm):
    before = mistral_farm.api.pool_show('default')
    execution = _execute(mistral, 'buildfarm.scale_pool', {
        'label': 'default', 'max_nodes': before['max_nodes'] + 3})
    assert execution['state'] == 'SUCCESS', execution['state_info']
    after = mistral_farm.api.pool_show('default')
    assert after['max_nodes'] == before['max_nodes'] + 3
    assert json.loads(execution['output'])['pool']['max_nodes'] == (
        after['max_nodes'])


def _context(execution_id, token=None):
    """What Mistral gives an action: its execution and security contexts."""
    return types.SimpleNamespace(
        execution=types.SimpleNamespace(action_execution_id=execution_id),
        security=types.SimpleNamespace(auth_token=token))


def test_an_action_run_again_for_its_execution_starts_no_second_job(
        mistral_farm, git_server, monkeypatch):
    # As when Mistral redelivers an action execution to an executor: the
    # same action execution id, so the same idempotency key.
    monkeypatch.delenv(actions.CONFIG_FILE_VARIABLE, raising=False)
    execution_id = str(uuid.uuid4())
    action = actions.RepoJobAction(git_url=git_server['url'], cmd='true',
                                   sync=True, transport_url=FARM_URL)
    first = action.run(_context(execution_id))
    again = action.run(_context(execution_id))
    assert first.data['state'] == states.SUCCEEDED
    assert again.data['job_id'] == first.data['job_id']
    other = action.run(_context(str(uuid.uuid4())))
    assert other.data['job_id'] != first.data['job_id']


def _run_action(mistral, name, inputs):
    """Run a synchronous action on its own; return its output."""
    answer = requests.post(mistral + '/action_executions', json={
        'name': name, 'input': json.dumps(inputs)}, timeout=60)
    answer.raise_for_status()
    execution = answer.json()
    assert execution['state'] == 'SUCCESS', execution
    return json.loads(execution['output'])['result']


def test_status_cancel_and_pool_actions(mistral, mistral_farm, git_server):
    job = mistral_farm.submit(git_url=git_server['url'], cmd='sleep 300')
    conftest.wait_until(lambda: mistral_farm.api.get_job(job['id'])[
        'state'] == states.RUNNING)
    status = _run_action(mistral, 'buildfarm.job_status',
                         {'job_id': job['id']})
    assert (status['job_id'], status['state']) == (job['id'],
                                                   states.RUNNING)
    _run_action(mistral, 'buildfarm.cancel_job', {'job_id': job['id']})
    ended = mistral_farm.wait(job['id'])
    assert ended['state'] == states.CANCELLED
    assert _run_action(mistral, 'buildfarm.job_status', {
        'job_id': job['id']})['state'] == states.CANCELLED
    pool = _run_action(mistral, 'buildfarm.pool_status',
                       {'label': 'default'})
    assert pool == mistral_farm.api.pool_show('default')
    # A bad input is the action's error, naming it; an unknown job too,
    # with the controller's reason.
    for job_id, reason in [
            ('no-such-job', "job_id: 'no-such-job' is not a UUID"),
            (str(uuid.uuid4()), 'No job with id ')]:
        answer = requests.post(mistral + '/action_executions', json={
            'name': 'buildfarm.job_status',
            'input': json.dumps({'job_id': job_id})}, timeout=60)
        assert answer.json()['state'] == 'ERROR'
        assert reason in answer.json()['output']
