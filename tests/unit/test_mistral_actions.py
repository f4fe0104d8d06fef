import inspect
import types

from mistral_lib import exceptions
import pytest

from buildfarm.common import rpc
from buildfarm.mistral import actions
from buildfarm import objects


def _context(token=None):
    return types.SimpleNamespace(
        security=types.SimpleNamespace(auth_token=token))


@pytest.mark.parametrize('action', [actions.RepoJobAction,
                                    actions.BuildImageAction])
def test_the_inputs_are_the_fields_mistral_may_store(action):
    # Mistral reads an action's inputs from the signature of __init__.
    spec = inspect.getfullargspec(action.__init__)
    fields = objects.spec_fields(action.method)
    stored = [f.name for f in fields if not f.secret]
    assert sorted(spec.args[1:]) == sorted(stored + ['sync',
                                                     'transport_url'])
    required = spec.args[1:len(spec.args) - len(spec.defaults)]
    assert required == [f.name for f in fields if f.required]
    assert 'secret_env' not in spec.args and 'token' not in spec.args


def test_a_repo_job_spec_from_the_inputs():
    action = actions.RepoJobAction(git_url='https://example.com/r.git',
                                   cmd='tox', timeout=60, env={'A': '1'})
    assert (action.sync, action.transport_url) == (False, None)
    assert action._spec(_context()) == {
        'git_url': 'https://example.com/r.git', 'cmd': 'tox', 'timeout': 60,
        'env': {'A': '1'}}


def test_a_build_image_spec_takes_the_callers_token():
    action = actions.BuildImageAction('https://example.com/app.git', 'app',
                                      sync=True, transport_url='rabbit://h/')
    assert (action.sync, action.transport_url) == (True, 'rabbit://h/')
    assert action._spec(_context('tok')) == {
        'git_url': 'https://example.com/app.git', 'image_name': 'app',
        'token': 'tok'}


def test_a_missing_or_unknown_input_is_refused():
    with pytest.raises(TypeError):
        actions.RepoJobAction(git_url='https://example.com/r.git')
    with pytest.raises(TypeError):
        actions.RepoJobAction(git_url='u', cmd='c', secret_env={'A': 'x'})


JOB = '6f1e2a40-1b2c-4d3e-8f00-0123456789ab'


class _API:
    """Stands in for ControllerAPI: records the calls."""

    def __init__(self):
        self.calls = []

    def __getattr__(self, method):
        def call(*args, **kwargs):
            self.calls.append((method, args, kwargs))
            return {'name': 'default', 'id': JOB, 'state': 'succeeded',
                    'kind': 'repo_job'}
        return call


def _run(action, monkeypatch, execution_id=JOB):
    api = _API()
    monkeypatch.setattr(action, '_api', lambda context: api)
    context = types.SimpleNamespace(
        execution=types.SimpleNamespace(action_execution_id=execution_id),
        security=types.SimpleNamespace(auth_token=None))
    return action.run(context), api.calls


def test_pool_scale_takes_whole_numbers_given_as_text(monkeypatch):
    _, calls = _run(actions.PoolScaleAction('default', min_ready='2',
                                            max_nodes=5), monkeypatch)
    assert calls == [('pool_set', (), {'label': 'default', 'min_ready': 2,
                                       'max_nodes': 5})]


def test_pool_status_without_a_label_lists_every_pool(monkeypatch):
    result, calls = _run(actions.PoolStatusAction(), monkeypatch)
    assert calls == [('pool_list', (), {})]
    assert list(result) == ['pools']
    _, calls = _run(actions.PoolStatusAction('default'), monkeypatch)
    assert calls == [('pool_show', (), {'label': 'default'})]


@pytest.mark.parametrize('action, message', [
    (actions.PoolScaleAction('default', min_ready=0.5),
     "buildfarm.pool_scale: min_ready: 0.5 is not of type 'integer'"),
    (actions.PoolScaleAction('default', max_nodes='lots'),
     "buildfarm.pool_scale: max_nodes: 'lots' is not of type 'integer'"),
    (actions.PoolScaleAction('default', max_nodes=10 ** 9),
     'buildfarm.pool_scale: max_nodes: 1000000000 is greater than'),
    (actions.PoolStatusAction('no such label'),
     "buildfarm.pool_status: label: 'no such label' is not a label"),
    (actions.JobStatusAction('../x'),
     "buildfarm.job_status: job_id: '../x' is not a UUID"),
    (actions.CancelJobAction(5),
     "buildfarm.cancel_job: job_id: 5 is not of type 'string'"),
    (actions.RepoJobAction('https://example.com/r.git', 'tox\0'),
     "buildfarm.repo_job: cmd: 'tox\\x00' is not a command without NUL"),
    (actions.RepoJobAction('https://example.com/r\n', 'tox'),
     'buildfarm.repo_job: git_url: the value is not a URL without'),
    (actions.RepoJobAction('https://example.com/r', 'tox', sync='maybe'),
     "buildfarm.repo_job: sync: 'maybe' is not of type 'boolean'"),
])
def test_a_bad_input_fails_the_action_naming_it(action, message,
                                                monkeypatch):
    with pytest.raises(exceptions.ActionException) as e:
        _run(action, monkeypatch)
    assert str(e.value).startswith('InvalidInput: ' + message)


def test_an_execution_id_that_is_not_a_uuid_is_refused(monkeypatch):
    action = actions.RepoJobAction('https://example.com/r.git', 'tox')
    with pytest.raises(exceptions.ActionException,
                       match='mistral_action_execution_id'):
        _run(action, monkeypatch, execution_id='../executions/OTHER#')


@pytest.mark.parametrize('sync, expected', [
    ('false', False), ('true', True), (False, False), (None, False),
    (True, True)])
def test_sync_given_as_text(sync, expected, monkeypatch):
    action = actions.RepoJobAction('https://example.com/r.git', 'tox',
                                   sync=sync)
    assert action.is_sync() is expected
    _, calls = _run(action, monkeypatch)
    method, _, kwargs = calls[0]
    assert method == 'repo_job'
    assert ('callback' in kwargs) is not expected


def test_the_calls_carry_the_token_of_the_security_context(monkeypatch):
    monkeypatch.delenv(actions.CONFIG_FILE_VARIABLE, raising=False)
    action = actions.JobStatusAction('job-1', transport_url='fake://m/')
    assert action._api(_context('tok'))._context() == {'auth_token': 'tok'}
    assert action._api(_context())._context() == {}
    rpc.forget_transport('fake://m/')
