import pytest

from buildfarm.agent import gitclone
from buildfarm import exception


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
