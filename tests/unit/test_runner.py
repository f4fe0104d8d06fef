"""A repo_job run by the agent's runner, from its job message to its
report."""

import os

from buildfarm.agent import runner
from buildfarm import objects
from buildfarm import states
from tests import githttp
from tests.unit import conftest


def _run(conf, tmp_path, spec):
    conf.set_override('workspace', str(tmp_path / 'workspace'), 'agent')
    if os.geteuid() == 0:
        # A uid of this test run's own: every process of the job's uid is
        # killed when its command ends.
        conf.set_override('job_user', str(63000 + os.getpid() % 1000),
                          'agent')
    os.makedirs(conf.agent.workspace)
    message = objects.JobMessage.from_dict(
        {'id': 'job1', 'kind': objects.REPO_JOB, 'spec': dict(
            {'ref': None, 'timeout': 60, 'env': {}, 'secret_env': {},
             'label': None}, **spec)})
    return conftest.run_job(runner.RepoJobRunner, conf, message)


def test_a_command_that_fails_is_reported_with_its_phases(
        conf, tmp_path, git_repo):
    report, log = _run(conf, tmp_path, {
        'git_url': git_repo['url'], 'cmd': 'cat file; echo $S; exit 3',
        'secret_env': {'S': 'hush'}})
    data = report.to_dict()
    assert data['state'] == states.FAILED
    assert data['exit_code'] == 3
    assert data['commit'] == git_repo['head']
    assert data['reason'] == 'The command exited with status 3.'
    assert set(data['timings']) == {'clone', 'run'}
    assert 'image_id' not in data
    assert 'two' in log and 'hush' not in log


def test_a_clone_that_fails_is_an_error(conf, tmp_path):
    report, _ = _run(conf, tmp_path, {
        'git_url': 'file:///no/such/repo', 'cmd': 'true'})
    assert report.state == states.ERROR
    assert report.reason and report.timings == {}


def test_the_job_cannot_find_its_git_credentials(conf, tmp_path, git_repo):
    password = 'runner-pw-%d' % os.getpid()
    root = os.path.dirname(git_repo['path'])
    with githttp.GitHttpServer(root, 'ci', password) as server:
        url = 'http://ci:%s@127.0.0.1:%d/repo' % (password, server.port)
        report, log = _run(conf, tmp_path, {
            'git_url': url,
            'cmd': 'cat .git/config; grep -rq %s .git && echo FO""UND; '
                   'echo leaked %s' % (password, password)})
    assert report.state == states.SUCCEEDED
    assert 'FOUND' not in log
    assert report.commit == git_repo['head']
    assert 'url = http://127.0.0.1:%d/repo' % server.port in log
    assert password not in log
    assert 'leaked ***' in log
