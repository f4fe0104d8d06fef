"""The schemas of the caller and operator API and how their errors read."""

import inspect

import pytest

from buildfarm.controller import auth
from buildfarm.controller import manager
from buildfarm.controller import rpcapi
from buildfarm.controller import schemas
from buildfarm.controller import validation
from buildfarm import exception

JOB = '6f1e2a40-1b2c-4d3e-8f00-0123456789ab'
SPEC = {'git_url': 'https://example.com/repo.git', 'cmd': 'tox'}


def _endpoints():
    return [name for name, _ in inspect.getmembers(
        manager.ControllerManager, inspect.isfunction)
        if not name.startswith('_')]


def _error(method, **args):
    with pytest.raises(exception.InvalidInput) as e:
        validation.check(method, getattr(schemas, method), args)
    return str(e.value)


def test_every_endpoint_has_its_schema_and_checks_it_first():
    assert sorted(_endpoints()) == sorted(
        name for name, _ in inspect.getmembers(rpcapi.ControllerAPI,
                                               inspect.isfunction)
        if not name.startswith('_'))
    endpoints = manager.ControllerManager(None, None, auth.NoAuth())
    for name in _endpoints():
        schema = getattr(schemas, name)
        validation._Validator.check_schema(schema)
        # Under oslo.messaging's expected_exceptions (which does not say
        # what it wraps), the policy's and the schema's checks, then the
        # method.
        wrapped, = [c.cell_contents for c in getattr(
            manager.ControllerManager, name).__closure__
            if hasattr(c.cell_contents, '__wrapped__')]
        params = list(inspect.signature(inspect.unwrap(wrapped)).parameters)
        assert sorted(params[2:]) == sorted(schema['properties'])
        with pytest.raises(Exception) as e:
            getattr(endpoints, name)({}, unknown=1)
        assert isinstance(e.value.exc_info[1], exception.InvalidInput)
        assert str(e.value.exc_info[1]).startswith(name + ': ')


@pytest.mark.parametrize('method, args, message', [
    ('pool_set', {'label': 'default', 'min_ready': 0.5},
     "pool_set: min_ready: 0.5 is not of type 'integer'"),
    ('pool_set', {'label': 'default', 'min_ready': '2'},
     "pool_set: min_ready: '2' is not of type 'integer'"),
    ('pool_set', {'label': 'default', 'max_nodes': 10 ** 9},
     'pool_set: max_nodes: 1000000000 is greater than the maximum of 1000'),
    ('pool_set', {'label': 'default', 'min_ready': True},
     "pool_set: min_ready: True is not of type 'integer'"),
    ('pool_set', {'label': 'no spaces', 'min_ready': 1},
     "pool_set: label: 'no spaces' is not a label"),
    ('get_log', {'job_id': JOB, 'offset': -5},
     'get_log: offset: -5 is less than the minimum of 0'),
    ('get_log', {'job_id': JOB, 'length': 10 ** 9},
     'get_log: length: 1000000000 is greater than the maximum'),
    ('node_hold', {'node_id': JOB, 'seconds': '60'},
     "node_hold: seconds: '60' is not of type 'integer'"),
    ('node_hold', {'node_id': JOB, 'seconds': 10 ** 7},
     'node_hold: seconds: 10000000 is greater than the maximum of 604800'),
    ('node_hold', {'node_id': 'x', 'seconds': 60},
     "node_hold: node_id: 'x' is not a UUID"),
    ('node_delete', {'node_id': 5},
     "node_delete: node_id: 5 is not of type 'string'"),
    ('get_job', {'job_id': JOB + '\n'}, 'get_job: job_id: '),
    ('get_job', {}, "get_job: 'job_id' is a required property"),
    ('cancel_job', {'job_id': JOB, 'force': True},
     "cancel_job: unknown argument(s) 'force'; valid: job_id"),
    ('pool_list', {'label': 'default'},
     "pool_list: unknown argument(s) 'label'; valid: none"),
    ('repo_job', {'spec': SPEC, 'callback': {'url': 'http://x'}},
     "repo_job: callback: 'mistral_action_execution_id' is a required"),
    ('repo_job', {'spec': SPEC, 'callback': {
        'mistral_action_execution_id': JOB, 'url': 'http://x'}},
     "repo_job: callback: unknown key(s) 'url'; valid: "
     "mistral_action_execution_id"),
    ('list_jobs', {'state': 'bogus'}, "list_jobs: state: 'bogus' is not one"),
    ('list_jobs', {'state': ['queued', 'x']}, "list_jobs: state.1: 'x'"),
    ('list_jobs', {'limit': 0}, 'list_jobs: limit: 0 is less than'),
    ('list_jobs', {'limit': 10 ** 6}, 'list_jobs: limit: 1000000 is greater'),
    ('list_jobs', {'marker': 'last'}, "list_jobs: marker: 'last' is not a"),
    ('list_jobs', {'all_projects': 'yes'},
     "list_jobs: all_projects: 'yes' is not of type 'boolean'"),
    ('repo_job', {'spec': 'tox'},
     "repo_job: spec: 'tox' is not of type 'object'"),
    ('repo_job', {'spec': dict(SPEC, cmd='tox\0')},
     "repo_job: spec.cmd: 'tox\\x00' is not a command without NUL bytes"),
    ('repo_job', {'spec': dict(SPEC, env={'A': 'x\0'})},
     'repo_job: spec.env.A: '),
    ('repo_job', {'spec': dict(SPEC, env={'A\0': 'x'})},
     'repo_job: spec.env: '),
    ('repo_job', {'spec': dict(SPEC, env={str(i): '' for i in range(300)})},
     'repo_job: spec.env: '),
    ('repo_job', {'spec': dict(SPEC, git_url='https://h/r\n')},
     'repo_job: spec.git_url: the value is not a URL without whitespace'),
    ('repo_job', {'spec': dict(SPEC, git_url='file:///tmp/a\0b')},
     'repo_job: spec.git_url: '),
    ('repo_job', {'spec': dict(SPEC, ref='--upload-pack=touch x')},
     'repo_job: spec.ref: \'--upload-pack=touch x\' is not a branch'),
    ('repo_job', {'spec': dict(SPEC, ref='main\n')}, 'repo_job: spec.ref: '),
    ('repo_job', {'spec': dict(SPEC, cmd='x' * 70000)},
     'is longer than 65536 characters'),
    ('repo_job', {'spec': dict(SPEC, env={str(i): 'y' * 30000
                                          for i in range(10)})},
     'repo_job: spec: the value is 300'),
    ('repo_job', {'spec': SPEC, 'idempotency_key': 'k\0'},
     'repo_job: idempotency_key: '),
    ('repo_job', {'spec': SPEC, 'callback': {
        'mistral_action_execution_id': '../executions/OTHER-ID#'}},
     "repo_job: callback.mistral_action_execution_id: "
     "'../executions/OTHER-ID#' is not a UUID"),
    ('build_image', {'spec': dict(SPEC, language_pack='python\n')},
     'build_image: spec.language_pack: '),
    # Lone surrogates cannot be stored or written as UTF-8.
    ('repo_job', {'spec': SPEC, 'idempotency_key': 'k\ud800'},
     'repo_job: idempotency_key: '),
    ('repo_job', {'spec': dict(SPEC, cmd='tox \udfff')},
     'repo_job: spec.cmd: '),
    ('repo_job', {'spec': dict(SPEC, git_url='https://h/\ud800')},
     'repo_job: spec.git_url: '),
    ('repo_job', {'spec': dict(SPEC, env={'A': '\ud800'})},
     'repo_job: spec.env.A: '),
])
def test_bad_arguments_are_refused_naming_the_field_and_rule(method, args,
                                                             message):
    assert message in _error(method, **args)


@pytest.mark.parametrize('method, args', [
    ('pool_set', {'label': 'docker-small.2', 'min_ready': 0,
                  'max_nodes': 1000}),
    ('get_log', {'job_id': JOB.upper(), 'offset': 0, 'length': 65536}),
    ('node_hold', {'node_id': JOB, 'seconds': 604800}),
    ('list_jobs', {'state': ['queued', 'running'], 'limit': 1000,
                   'marker': JOB, 'all_projects': True}),
    ('list_jobs', {'state': 'succeeded'}),
    ('repo_job', {'spec': dict(SPEC, ref='stable/2024.1', env={'A': 'b\nc'},
                               secret_env={'T': 'x'}, timeout='60'),
                  'idempotency_key': 'mistral-action-execution-%s' % JOB,
                  'callback': {'mistral_action_execution_id': JOB}}),
    # Types of the spec's fields are jobspec's to check, in its words.
    ('repo_job', {'spec': dict(SPEC, cmd=5, env='A=1')}),
])
def test_good_arguments_pass(method, args):
    validation.check(method, getattr(schemas, method), args)


def test_secrets_and_long_values_are_not_repeated():
    message = _error('repo_job', spec=dict(SPEC, secret_env={
        'T': 's3cret\0'}, token='t0ken\n'))
    assert 's3cret' not in message and 't0ken' not in message
    message = _error('repo_job', spec=dict(
        SPEC, git_url='https://user:pa55@example.com/r\n'))
    assert 'pa55' not in message
    message = _error('pool_show', label='x' * 100000)
    assert len(message) < 200
    # The whole spec is shown nowhere, whatever is wrong with it.
    message = _error('repo_job', spec=dict(
        SPEC, token='gAAAAAsecret-token',
        **{'k%d' % i: 1 for i in range(40)}))
    assert 'has too many properties' in message
    assert 'secret-token' not in message


def test_the_endpoint_checks_before_anything_runs():
    class Recorder:
        def __getattr__(self, name):
            raise AssertionError('%s reached past the schema' % name)

    endpoints = manager.ControllerManager(Recorder(), Recorder(),
                                          auth.NoAuth())
    for call in (lambda: endpoints.pool_set({}, label='default',
                                            min_ready=0.5),
                 lambda: endpoints.node_hold({}, node_id='x', seconds='60'),
                 lambda: endpoints.get_job({}, job_id=JOB, extra=1),
                 lambda: endpoints.get_log({}, offset=0)):
        with pytest.raises(Exception) as e:
            call()
        # oslo.messaging's expected_exceptions wraps what it expects.
        assert isinstance(e.value.exc_info[1], exception.InvalidInput)


def test_none_for_an_optional_argument_is_as_if_not_given():
    class Operators:
        def pool_set(self, context, label, min_ready=None, max_nodes=None):
            return (label, min_ready, max_nodes)

    endpoints = manager.ControllerManager(None, Operators(), auth.NoAuth())
    assert endpoints.pool_set({}, label='default', min_ready=None,
                              max_nodes=2) == ('default', None, 2)


def test_text_from_a_workflow_is_converted_where_a_number_is_wanted():
    args = validation.convert(schemas.pool_set, {
        'label': '7', 'min_ready': ' 2', 'max_nodes': '0.5'})
    assert args == {'label': '7', 'min_ready': 2, 'max_nodes': '0.5'}
    assert validation.convert(
        {'properties': {'sync': {'type': 'boolean'}}},
        {'sync': 'True'}) == {'sync': True}


def test_is_uuid():
    assert validation.is_uuid(JOB)
    for bad in (JOB + '\n', '../x', 5, None, JOB[:-1]):
        assert not validation.is_uuid(bad)


def test_a_caller_is_authorized_before_its_arguments_are_checked():
    class Refusing:
        def authorize(self, context, rule):
            raise exception.NotAuthorized('No valid token.')

    endpoints = manager.ControllerManager(None, None, Refusing())
    with pytest.raises(Exception) as e:
        endpoints.pool_set({}, label='default', min_ready=0.5)
    assert isinstance(e.value.exc_info[1], exception.NotAuthorized)
