import io

import pytest

from buildfarm.cli import auth
from buildfarm.cli import common
from buildfarm.cli import job
from buildfarm.cli import run
from buildfarm import exception
from buildfarm import objects


def _parser(command):
    return command(None, None).get_parser('buildfarm job')


@pytest.mark.parametrize('command', [job.SubmitJob, job.SubmitBuild])
def test_every_field_of_the_kind_is_an_option(command):
    options = {a.dest: a for a in _parser(command)._actions}
    for field in objects.spec_fields(command.kind):
        assert field.flag in options[field.name].option_strings
        assert options[field.name].required == field.required


def test_a_repo_job_spec_from_the_options():
    parser = _parser(job.SubmitJob)
    args = parser.parse_args([
        '--git-url', 'https://example.com/r.git', '--cmd', 'tox',
        '--timeout', '60', '--env', 'A=1', '--env', 'B=2=3',
        '--secret-env', 'TOKEN=x'])
    assert job.SubmitJob(None, None).spec(args) == {
        'git_url': 'https://example.com/r.git', 'cmd': 'tox', 'timeout': 60,
        'env': {'A': '1', 'B': '2=3'}, 'secret_env': {'TOKEN': 'x'}}


def test_a_build_image_spec_from_the_options():
    parser = _parser(job.SubmitBuild)
    args = parser.parse_args([
        '--git-url', 'https://example.com/app.git', '--image-name', 'app',
        '--language-pack', 'python', '--token', 'tok', '--ref', 'v1'])
    assert job.SubmitBuild(None, None).spec(args) == {
        'git_url': 'https://example.com/app.git', 'image_name': 'app',
        'language_pack': 'python', 'token': 'tok', 'ref': 'v1', 'env': {},
        'secret_env': {}}


def test_an_env_option_without_a_value_is_refused():
    args = _parser(job.SubmitJob).parse_args([
        '--git-url', 'u', '--cmd', 'c', '--env', 'NOVALUE'])
    with pytest.raises(exception.InvalidJobSpec) as e:
        job.SubmitJob(None, None).spec(args)
    assert 'NAME=VALUE' in str(e.value)


def test_a_job_row_shows_every_phase_in_order():
    timings = {phase: 1.0 for phase in objects.PHASES}
    row = dict(zip(common.COLUMNS, common.job_row(
        {'id': 'j', 'spec': {}, 'timings': timings})))
    assert [c for c in common.COLUMNS if c in timings] == list(
        objects.PHASES)
    assert all(row[phase] == 1.0 for phase in objects.PHASES)


def test_secrets_come_from_a_file_or_standard_input(tmp_path, monkeypatch):
    env_file = tmp_path / 'secrets.env'
    env_file.write_text('# deploy keys\nTOKEN=s3cret=x\n\nKEY= spaced \n')
    token_file = tmp_path / 'token'
    token_file.write_text('gAAAA-token\n')
    parser = _parser(job.SubmitBuild)
    args = parser.parse_args([
        '--git-url', 'https://example.com/app.git', '--image-name', 'app',
        '--secret-env-file', str(env_file), '--token-file', str(token_file)])
    spec = job.SubmitBuild(None, None).spec(args)
    assert spec['secret_env'] == {'TOKEN': 's3cret=x', 'KEY': ' spaced '}
    assert spec['token'] == 'gAAAA-token'
    monkeypatch.setattr('sys.stdin', io.StringIO('A=1\n'))
    args = _parser(job.SubmitJob).parse_args([
        '--git-url', 'u', '--cmd', 'c', '--secret-env-file', '-'])
    assert job.SubmitJob(None, None).spec(args)['secret_env'] == {'A': '1'}


@pytest.mark.parametrize('content, options, message', [
    ('TOKEN s3cret\n', ['--secret-env-file', '{path}'],
     '--secret-env-file: {path}, line 1: not NAME=VALUE'),
    ('\n', ['--token-file', '{path}'], '--token-file: {path} is empty'),
    (None, ['--token-file', '{path}'],
     '--token-file: cannot read {path}: No such file or directory'),
    ('x', ['--token-file', '-', '--secret-env-file', '-'],
     'Only one option can read standard input ("-").'),
])
def test_a_bad_secret_file_is_refused_without_showing_it(
        tmp_path, content, options, message):
    path = tmp_path / 'secret'
    if content is not None:
        path.write_text(content)
    args = _parser(job.SubmitBuild).parse_args([
        '--git-url', 'u', '--image-name', 'app'] + [
        o.format(path=path) for o in options])
    with pytest.raises(exception.InvalidJobSpec) as e:
        job.SubmitBuild(None, None).spec(args)
    assert str(e.value) == message.format(path=path)
    assert 's3cret' not in str(e.value)


def test_a_secret_and_its_file_cannot_both_be_given():
    with pytest.raises(SystemExit):
        _parser(job.SubmitBuild).parse_args([
            '--git-url', 'u', '--image-name', 'app', '--token', 't',
            '--token-file', '-'])


def test_no_token_is_needed_from_a_noauth_configuration(conf, monkeypatch):
    for name in ('OS_CLOUD', 'OS_AUTH_URL'):
        monkeypatch.delenv(name, raising=False)
    assert auth.token_source(conf) is None


def test_a_keystone_configuration_without_a_cloud_says_what_to_give(
        conf, monkeypatch):
    for name in ('OS_CLOUD', 'OS_AUTH_URL'):
        monkeypatch.delenv(name, raising=False)
    conf.set_override('auth_strategy', 'keystone')
    with pytest.raises(exception.NotAuthorized,
                       match='--os-cloud NAME.*OS_CLOUD.*auth_strategy'):
        auth.token_source(conf)


def test_an_unknown_cloud_is_a_clear_error(conf, tmp_path, monkeypatch):
    clouds = tmp_path / 'clouds.yaml'
    clouds.write_text('clouds:\n  other:\n    auth:\n      auth_url: '
                      'http://keystone.test/v3\n')
    monkeypatch.setenv('OS_CLIENT_CONFIG_FILE', str(clouds))
    with pytest.raises(exception.NotAuthorized, match='cloud nowhere'):
        auth.token_source(conf, 'nowhere')


def test_buildfarm_run_needs_no_keystone(conf, tmp_path):
    conf.set_override('auth_strategy', 'keystone')
    run.all_in_one(conf, 'local', str(tmp_path))
    assert conf.auth_strategy == 'noauth'


def test_buildfarm_run_serves_its_callers_in_process_only(conf, tmp_path):
    # Nodes use the broker; the unauthenticated caller API is not on it.
    conf.set_override('transport_url', 'rabbit://u:p@broker.test:5672/')
    run.all_in_one(conf, 'docker', str(tmp_path))
    assert conf.transport_url.startswith('fake://buildfarm-run-')
    assert conf.node.transport_url == 'rabbit://u:p@broker.test:5672/'
