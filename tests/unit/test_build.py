import pytest

from buildfarm.agent import build


@pytest.mark.parametrize('name,commit,tag', [
    ('My App', 'a' * 40, 'my-app:' + 'a' * 12),
    ('org/app_v2.1', None, 'org/app_v2.1:latest'),
    ('--', 'abc', 'app:abc'),
])
def test_docker_tags_are_valid_references(name, commit, tag):
    assert build.docker_tag(name, commit) == tag
