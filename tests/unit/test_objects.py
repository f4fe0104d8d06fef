import dataclasses
import json

import pytest

from buildfarm import jobspec
from buildfarm import objects
from buildfarm import states

REPO = jobspec.validate_repo_job({
    'git_url': 'https://example.com/org/repo.git', 'cmd': 'tox',
    'env': {'A': '1'}, 'secret_env': {'TOKEN': 's3cr3t'}})
BUILD = dict(jobspec.validate_build_image({
    'git_url': 'https://example.com/org/app.git', 'image_name': 'app',
    'token': 'tok'}), token=None)
UPLOAD = {'endpoint': 'http://glance:9292', 'token': 'tok', 'attempts': 3,
          'max_bytes': 1024, 'port': 8080, 'image_id': 'img-1'}


def test_every_field_of_a_validated_spec_is_declared():
    for kind, spec in ((objects.REPO_JOB, REPO),
                       (objects.BUILD_IMAGE, BUILD)):
        assert [f.name for f in objects.spec_fields(kind)] == list(spec)


def test_the_fields_of_all_kinds_are_the_fields_of_either():
    names = {f.name for f in objects.spec_fields()}
    assert names == set(REPO) | set(BUILD)


@pytest.mark.parametrize('kind,spec', [(objects.REPO_JOB, REPO),
                                       (objects.BUILD_IMAGE, BUILD)])
def test_a_spec_goes_to_a_dict_and_back(kind, spec):
    obj = objects.JobSpec.from_dict(kind, spec)
    assert obj.to_dict() == spec
    assert objects.JobSpec.from_dict(kind, obj.to_dict()) == obj


def test_a_spec_keeps_the_fields_of_its_kind_only():
    obj = objects.JobSpec.from_dict(objects.REPO_JOB,
                                    dict(REPO, image_name='x'))
    assert 'image_name' not in obj.to_dict()


def test_secrets_are_not_in_the_repr_of_a_spec():
    shown = repr(objects.JobSpec(objects.BUILD_IMAGE, secret_env={'A': 'x1'},
                                 token='tok1'))
    assert 'x1' not in shown and 'tok1' not in shown


@pytest.mark.parametrize('message', [
    {'id': 'j1', 'kind': objects.REPO_JOB, 'spec': REPO},
    {'id': 'j2', 'kind': objects.BUILD_IMAGE, 'spec': BUILD,
     'upload': UPLOAD},
])
def test_a_job_message_goes_to_a_dict_and_back_unchanged(message):
    obj = objects.JobMessage.from_dict(json.loads(json.dumps(message)))
    assert obj.to_dict() == message
    assert isinstance(obj.spec, objects.JobSpec)


def test_the_controller_builds_a_message_from_dicts():
    obj = objects.JobMessage(id='j3', kind=objects.BUILD_IMAGE, spec=BUILD,
                             upload=UPLOAD)
    assert obj.upload.token == 'tok'
    assert obj.spec.image_name == 'app'
    assert obj.to_dict()['upload'] == UPLOAD


def test_a_message_names_the_secrets_its_log_masks():
    repo = objects.JobMessage('j1', objects.REPO_JOB, REPO)
    assert repo.secrets() == ['s3cr3t']
    build = objects.JobMessage('j2', objects.BUILD_IMAGE, BUILD, UPLOAD)
    assert build.secrets() == ['tok']
    assert 'tok' not in repr(build) and 's3cr3t' not in repr(repo)


def test_a_report_goes_to_a_dict_and_back():
    report = objects.Report(state=states.SUCCEEDED, exit_code=0,
                            commit='abc', timings={'clone': 1.5, 'run': 2.0})
    data = report.to_dict()
    assert data == {'state': 'succeeded', 'exit_code': 0, 'commit': 'abc',
                    'reason': None, 'timings': {'clone': 1.5, 'run': 2.0}}
    assert objects.Report.from_dict(data) == report
    built = dataclasses.replace(report, image_id='img')
    assert built.to_dict()['image_id'] == 'img'
    assert objects.Report.from_dict(built.to_dict()) == built


def test_a_new_report_says_the_job_could_not_run():
    assert objects.Report().to_dict() == {
        'state': states.ERROR, 'exit_code': None, 'commit': None,
        'reason': None, 'timings': {}}


@pytest.mark.parametrize('state', [None, 'running', 'done', 3])
def test_a_report_without_a_terminal_state_is_an_error(state):
    report = objects.Report.from_dict({'state': state, 'exit_code': 0,
                                       'commit': 'abc',
                                       'reason': 'all fine'})
    assert report.state == states.ERROR
    assert report.reason == 'The agent sent an invalid report.'
    assert (report.exit_code, report.commit) == (0, 'abc')


def test_a_report_that_is_no_mapping_is_an_error():
    report = objects.Report.from_dict(['succeeded'])
    assert report.state == states.ERROR
    assert report.reason == 'The agent sent an invalid report.'


def test_report_timings_are_the_agents_phases_in_float_seconds():
    report = objects.Report.from_dict({
        'state': states.FAILED, 'timings': {
            'clone': 1, 'run': 2.5, 'queued': 7, 'report': 3,
            'elsewhere': 4}})
    assert report.timings == {'clone': 1.0, 'run': 2.5}
    assert all(type(v) is float for v in report.timings.values())


def test_the_agent_records_its_phases_only():
    report = objects.Report()
    report.record('clone', 1.5)
    assert report.timings == {'clone': 1.5}
    with pytest.raises(ValueError):
        report.record('queued', 1.0)


def test_the_phases_in_order_are_the_controllers_and_the_agents():
    assert objects.PHASES == (
        'queued', 'node_boot', 'agent_ready', 'clone', 'run', 'compile',
        'assemble', 'upload', 'report')
    assert set(objects.PHASES) == (set(objects.AGENT_PHASES)
                                   | set(objects.CONTROLLER_PHASES))


def _agent_config(**changes):
    return dataclasses.replace(objects.AgentConfig(
        transport_url='rabbit://u:p$w@broker/', node_id='n1',
        controller_topic='buildfarm-controller', node_secret='s3',
        lease=300, heartbeat_interval=10.0, job_env={'PIP_INDEX_URL': 'x'},
        packs_dir='/opt/packs',
        boot_job={'id': 'j1', 'kind': objects.REPO_JOB, 'spec': REPO}),
        **changes)


def test_the_agent_config_is_grouped_as_oslo_config_takes_it():
    groups = _agent_config(workspace='/w').to_groups()
    assert groups['DEFAULT'] == {'transport_url': 'rabbit://u:p$$w@broker/'}
    assert groups['agent']['lease'] == 300
    assert groups['agent']['workspace'] == '/w'
    assert json.loads(groups['agent']['job_env']) == {'PIP_INDEX_URL': 'x'}
    assert json.loads(groups['agent']['boot_job'].replace('$$', '$')) == {
        'id': 'j1', 'kind': objects.REPO_JOB, 'spec': REPO}
    assert 'ca_bundle' not in groups['agent']  # unset: the agent's default


def test_the_agent_config_goes_to_a_dict_and_back():
    config = _agent_config(ca_bundle='/ca.crt')
    data = json.loads(json.dumps(config.to_dict()))
    assert objects.AgentConfig.from_dict(data) == config


def test_no_secret_is_in_the_repr_of_an_agent_config():
    shown = repr(_agent_config())
    for secret in ('p$w', 's3', 's3cr3t'):
        assert secret not in shown


@pytest.mark.parametrize('field,value', [
    ('exit_code', 'zero'), ('exit_code', True), ('commit', 'a' * 65),
    ('image_id', ['x']), ('reason', 5), ('timings', {'run': 'long'}),
    ('timings', {'run': float('nan')}), ('timings', ['run'])])
def test_a_report_of_the_wrong_shape_is_invalid_not_a_traceback(field,
                                                                value):
    report = objects.Report.from_dict({'state': 'succeeded', field: value})
    assert (report.state, report.reason) == ('error', objects.report.INVALID)


def test_a_long_reason_is_cut():
    report = objects.Report.from_dict({'state': 'failed',
                                       'reason': 'x' * 10000})
    assert report.reason == 'x' * objects.report.MAX_REASON
