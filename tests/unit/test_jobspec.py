import pytest

from buildfarm import exception
from buildfarm import jobspec

GOOD = {'git_url': 'https://example.com/org/repo.git', 'cmd': 'tox'}


def test_defaults_are_filled_in():
    spec = jobspec.validate_repo_job(dict(GOOD))
    assert spec == {'git_url': GOOD['git_url'], 'ref': None, 'cmd': 'tox',
                    'timeout': jobspec.DEFAULT_TIMEOUT, 'env': {},
                    'secret_env': {}, 'label': None}


@pytest.mark.parametrize('change,message', [
    ({'colour': 'red'}, 'Unknown field(s) colour'),
    ({'git_url': None}, 'git_url is required'),
    ({'git_url': 'not a url'}, 'is not a git URL'),
    ({'git_url': 'ftp://example.com/repo'}, 'is not a git URL'),
    ({'git_url': 'https://'}, 'needs a host'),
    ({'git_url': 'file://relative/path'}, 'file:///absolute/path'),
    ({'git_url': 'file:///srv/a%00b'}, 'no control characters'),
    ({'cmd': ''}, 'cmd is required'),
    ({'cmd': '   '}, 'cmd is required'),
    ({'timeout': 0}, 'timeout must be'),
    ({'timeout': -5}, 'timeout must be'),
    ({'timeout': 'soon'}, 'timeout must be'),
    ({'timeout': True}, 'timeout must be'),
    ({'ref': '--upload-pack=evil'}, 'not a valid branch'),
    ({'env': {'1BAD': 'x'}}, 'not a valid variable name'),
    ({'env': {'GOOD': 3}}, 'must be a string'),
    # A final newline is not the end of a name.
    ({'env': {'GOOD\n': 'x'}}, 'not a valid variable name'),
    ({'ref': 'main\n'}, 'not a valid branch'),
    ({'git_url': 'git@example.com:repo\n'}, 'is not a git URL'),
])
def test_bad_specs_are_refused_with_a_reason(change, message):
    with pytest.raises(exception.InvalidJobSpec) as e:
        jobspec.validate_repo_job(dict(GOOD, **change))
    assert message in str(e.value)


def test_secret_env_values_are_not_stored():
    spec = jobspec.validate_repo_job(dict(GOOD, secret_env={'TOKEN': 'x1'}))
    assert spec['secret_env'] == {'TOKEN': 'x1'}
    assert jobspec.stored_spec(spec)['secret_env'] == {'TOKEN': '***'}
    assert jobspec.has_secrets(spec)
    assert not jobspec.has_secrets(jobspec.validate_repo_job(dict(GOOD)))


def test_missing_field_is_named():
    with pytest.raises(exception.InvalidJobSpec, match='cmd is required'):
        jobspec.validate_repo_job({'git_url': GOOD['git_url']})


@pytest.mark.parametrize('url', [
    'git://127.0.0.1/repo', 'ssh://git@host/repo', 'git@host:org/repo.git',
    'file:///srv/repo', 'http://host:8080/repo'])
def test_git_url_forms_accepted(url):
    assert jobspec.validate_git_url(url) == url


@pytest.mark.parametrize('url,shown', [
    ('https://user:s3cret@host/repo', 'https://***@host/repo'),
    ('https://token@host/repo', 'https://***@host/repo'),
    ('https://host:8443/repo', 'https://host:8443/repo'),
    ('git@host:org/repo', 'git@host:org/repo'),
])
def test_credentials_are_redacted(url, shown):
    assert jobspec.redact_url(url) == shown
    stored = jobspec.stored_spec(jobspec.validate_repo_job(
        dict(GOOD, git_url=url)))
    assert 's3cret' not in str(stored) and 'token' not in str(stored)


BUILD = {'git_url': 'https://example.com/org/app.git', 'image_name': 'app'}


def test_a_build_spec_gets_its_defaults():
    spec = jobspec.validate(jobspec.BUILD_IMAGE, dict(BUILD))
    assert spec == {'git_url': BUILD['git_url'], 'ref': None,
                    'timeout': jobspec.DEFAULT_TIMEOUT, 'env': {},
                    'secret_env': {}, 'label': None, 'image_name': 'app',
                    'language_pack': None, 'token': None}


@pytest.mark.parametrize('change,message', [
    ({'cmd': 'tox'}, 'Unknown field(s) cmd'),
    ({'image_name': ''}, 'image_name is required'),
    ({'image_name': 'x' * 256}, 'image_name is required'),
    ({'language_pack': '../python'}, 'is not the name of a language pack'),
    ({'token': 42}, 'token must be a string'),
    ({'git_url': 'not a url'}, 'is not a git URL'),
])
def test_bad_build_specs_are_refused_with_a_reason(change, message):
    with pytest.raises(exception.InvalidJobSpec) as e:
        jobspec.validate(jobspec.BUILD_IMAGE, dict(BUILD, **change))
    assert message in str(e.value)


def test_the_token_is_a_secret_the_store_leaves_out():
    spec = jobspec.validate(jobspec.BUILD_IMAGE, dict(BUILD, token='t0k'))
    stored = jobspec.stored_spec(spec)
    assert stored['token'] == '***'
    assert jobspec.has_secrets(spec)
    assert jobspec.lost_secrets(stored)
    plain = jobspec.validate(jobspec.BUILD_IMAGE, dict(BUILD))
    assert not jobspec.lost_secrets(jobspec.stored_spec(plain))


def test_an_unknown_kind_is_refused():
    with pytest.raises(exception.InvalidJobSpec, match='Unknown job kind'):
        jobspec.validate('deploy', dict(BUILD))
