import inspect
import types

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


def test_the_calls_carry_the_token_of_the_security_context(monkeypatch):
    monkeypatch.delenv(actions.CONFIG_FILE_VARIABLE, raising=False)
    action = actions.JobStatusAction('job-1', transport_url='fake://m/')
    assert action._api(_context('tok'))._context() == {'auth_token': 'tok'}
    assert action._api(_context())._context() == {}
    rpc.forget_transport('fake://m/')
