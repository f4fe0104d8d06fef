import base64
import os
import subprocess
import urllib.parse

import pytest

from buildfarm.agent import gitclone
from buildfarm import exception
from buildfarm import objects
from tests import githttp

PASSWORD = 'pw/with:odd@chars-%s' % os.getpid()


@pytest.mark.parametrize('ref,expected', [
    (None, 'head'), ('main', 'head'), ('v1', 'first'), ('FIRST', 'first'),
    ('FIRST10', 'first')])
def test_clone_at_branch_tag_or_sha(git_repo, tmp_path, ref, expected):
    if ref == 'FIRST':
        ref = git_repo['first']
    elif ref == 'FIRST10':
        ref = git_repo['first'][:10]
    sha = gitclone.clone(git_repo['url'], ref, str(tmp_path / 'co'), 60)
    assert sha == git_repo[expected]
    content = (tmp_path / 'co' / 'file').read_text()
    assert content == ('two\n' if expected == 'head' else 'one\n')


def test_missing_ref_is_named(git_repo, tmp_path):
    with pytest.raises(exception.CloneError, match="Ref 'nope' not found"):
        gitclone.clone(git_repo['url'], 'nope', str(tmp_path / 'co'), 60)


def test_missing_commit_is_named(git_repo, tmp_path):
    with pytest.raises(exception.CloneError, match='Commit 0+ not found'):
        gitclone.clone(git_repo['url'], '0' * 40, str(tmp_path / 'co'), 60)


def test_unreachable_repository(tmp_path):
    with pytest.raises(exception.CloneError,
                       match='Cannot reach repository file:///nowhere'):
        gitclone.clone('file:///nowhere', None, str(tmp_path / 'co'), 60)


def test_credentials_never_reach_the_reason(tmp_path):
    with pytest.raises(exception.CloneError) as e:
        gitclone.clone('http://user:s3cret@127.0.0.1:1/repo.git', None,
                       str(tmp_path / 'co'), 60)
    assert 's3cret' not in str(e.value)
    assert 'Cannot reach repository http://***@127.0.0.1:1/repo.git' in str(
        e.value)


@pytest.fixture
def http_repo(git_repo):
    """git_repo served over smart HTTP to user "ci" with a password."""
    root = os.path.dirname(git_repo['path'])
    with githttp.GitHttpServer(root, 'ci', PASSWORD) as server:
        yield dict(git_repo, server=server,
                   url='http://ci:%s@127.0.0.1:%d/repo' % (
                       urllib.parse.quote(PASSWORD, safe=''), server.port),
                   clean='http://127.0.0.1:%d/repo' % server.port)


def _files_holding(directory, needles):
    found = []
    for root, _, files in os.walk(directory):
        for name in files:
            with open(os.path.join(root, name), 'rb') as f:
                data = f.read()
            found += [(name, n) for n in needles if n.encode() in data]
    return found


@pytest.mark.parametrize('ref', [None, 'v1', 'FIRST'])
def test_credentials_reach_the_server_but_never_the_checkout(
        http_repo, tmp_path, ref):
    if ref == 'FIRST':
        ref = http_repo['first']
    dest = tmp_path / 'co'
    sha = gitclone.clone(http_repo['url'], ref, str(dest), 60)
    assert sha == (http_repo['first'] if ref else http_repo['head'])
    server = http_repo['server']
    assert server.requests
    assert {auth for _, auth in server.requests} == {server.authorization}
    stored = subprocess.run(
        ['git', 'config', '--get', 'remote.origin.url'], cwd=dest,
        capture_output=True, text=True, check=True).stdout.strip()
    assert stored == http_repo['clean']
    header = server.authorization.split()[1]
    needles = [PASSWORD, urllib.parse.quote(PASSWORD, safe=''), header]
    assert _files_holding(dest / '.git', needles) == []
    assert (dest / '.git' / 'config').read_text().count('ci') == 0


def test_a_wrong_password_is_refused_and_never_shown(http_repo, tmp_path):
    url = http_repo['url'].replace(
        urllib.parse.quote(PASSWORD, safe=''), 'wrong-password')
    with pytest.raises(exception.CloneError) as e:
        gitclone.clone(url, None, str(tmp_path / 'co'), 60)
    assert 'wrong-password' not in str(e.value)
    assert 'http://***@127.0.0.1:%d/repo' % http_repo['server'].port in str(
        e.value)


def test_the_header_git_sends_is_one_of_the_jobs_secrets():
    url = 'https://ci:p%40ss@git.example.com:8443/org/repo.git'
    clean, config = gitclone.split_credentials(url)
    assert clean == 'https://git.example.com:8443/org/repo.git'
    header = config['http.https://git.example.com:8443/.extraHeader']
    assert header == 'Authorization: Basic ' + base64.b64encode(
        b'ci:p@ss').decode()
    assert config['http.https://git.example.com:8443/.followRedirects'] == (
        'false')
    job = objects.JobMessage('j', objects.REPO_JOB, {
        'git_url': url, 'cmd': 'true'})
    assert header.split()[2] in job.secrets()
    assert {'p@ss', 'p%40ss'} <= set(job.secrets())
    assert 'ci' not in job.secrets()


@pytest.mark.parametrize('url,clean,secrets', [
    ('https://TOKEN123@host/r.git', 'https://host/r.git', {'TOKEN123'}),
    ('ssh://git:pw123@host/r.git', 'ssh://git@host/r.git', {'pw123'}),
    ('git@host:org/r.git', 'git@host:org/r.git', set()),
    ('file:///srv/r', 'file:///srv/r', set()),
])
def test_only_credentials_leave_the_url(url, clean, secrets):
    assert gitclone.split_credentials(url)[0] == clean
    job = objects.JobMessage('j', objects.REPO_JOB, {'git_url': url,
                                                     'cmd': 'true'})
    assert secrets <= set(job.secrets())
    assert 'git' not in job.secrets() and 'host' not in job.secrets()
