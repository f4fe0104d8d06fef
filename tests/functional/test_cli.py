"""The commands as an operator and a caller use them: buildfarm-controller
in its own process, and the buildfarm CLI talking to it over RabbitMQ."""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import uuid

import pytest

from tests.functional import conftest


def _cli(config_file, *args, check=None):
    result = subprocess.run(
        ['buildfarm', '--config-file', config_file, *args],
        capture_output=True, text=True, timeout=300)
    if check is not None:
        assert result.returncode == check, result.stderr
    return result


@pytest.fixture(scope='module')
def operator(tmp_path_factory, make_vhost, docker_client):
    """buildfarm-controller running in its own process."""
    tmp = tmp_path_factory.mktemp('operator')
    controller_id = 'bf-cli-%s' % uuid.uuid4().hex[:8]
    config_file = conftest.write_config(tmp / 'buildfarm.conf',
                                        make_vhost(), controller_id)
    proc = subprocess.Popen(['buildfarm-controller', '--config-file',
                             config_file], stdout=subprocess.DEVNULL,
                            stderr=open(tmp / 'controller.log', 'w'))
    # The controller answers once it has started.
    for _ in range(100):
        if _cli(config_file, 'job', 'list').returncode == 0:
            break
        time.sleep(0.3)
    yield {'config': config_file, 'dir': tmp, 'id': controller_id}
    proc.terminate()
    proc.wait(timeout=60)
    leftovers = conftest.owned_containers(docker_client, controller_id)
    for container in leftovers:
        container.remove(force=True)
    assert leftovers == []


def test_submit_wait_show_list_logs(operator, git_server):
    result = _cli(operator['config'], 'job', 'submit', '--git-url',
                  git_server['url'], '--ref', 'v1', '--cmd', 'cat version',
                  '--wait', '-f', 'json', check=0)
    job = json.loads(result.stdout)
    assert 'one\n' in result.stderr    # the streamed log
    shown = json.loads(_cli(operator['config'], 'job', 'show', job['id'],
                            '-f', 'json', check=0).stdout)
    for key in ('id', 'state', 'exit_code', 'commit', 'reason', 'queued',
                'node_boot', 'agent_ready', 'clone', 'run', 'report'):
        assert key in shown
    assert (shown['state'], shown['exit_code'], shown['commit']) == (
        'succeeded', 0, git_server['v1'])
    listed = json.loads(_cli(operator['config'], 'job', 'list', '-f', 'json',
                             check=0).stdout)
    assert job['id'] in [j['id'] for j in listed]
    logs = _cli(operator['config'], 'job', 'logs', job['id'], check=0)
    assert 'one\n' in logs.stdout


def test_exit_status_of_a_failed_job_and_of_a_job_that_could_not_run(
        operator, git_server):
    failed = _cli(operator['config'], 'job', 'submit', '--git-url',
                  git_server['url'], '--cmd', 'exit 5', '--wait')
    assert failed.returncode == 1
    missing = _cli(operator['config'], 'job', 'submit', '--git-url',
                   git_server['url'], '--ref', 'nope', '--cmd', 'true',
                   '--wait', '-f', 'json')
    assert missing.returncode == 2
    assert "Ref 'nope' not found" in json.loads(missing.stdout)['reason']


def test_cancel_and_follow(operator, git_server):
    job = json.loads(_cli(operator['config'], 'job', 'submit', '--git-url',
                          git_server['url'], '--cmd',
                          'echo started; sleep 300', '-f', 'json',
                          check=0).stdout)
    follower = subprocess.Popen(
        ['buildfarm', '--config-file', operator['config'], 'job', 'logs',
         job['id'], '--follow'], stdout=subprocess.PIPE, text=True)
    # The command runs: its first line is in the job's log.
    deadline = time.monotonic() + 60
    while 'started\n' not in _cli(operator['config'], 'job', 'logs',
                                  job['id']).stdout:
        assert time.monotonic() < deadline, 'the command never started'
        time.sleep(0.3)
    cancelled = json.loads(_cli(operator['config'], 'job', 'cancel',
                                job['id'], '-f', 'json', check=0).stdout)
    assert cancelled['id'] == job['id']
    out, _ = follower.communicate(timeout=60)
    assert 'started\n' in out
    assert 'job cancelled' in out
    assert follower.returncode == 0


@pytest.mark.parametrize('args,message', [
    (['--git-url', 'not-a-url', '--cmd', 'true'], 'is not a git URL'),
    (['--git-url', 'git://127.0.0.1/x', '--cmd', ''], 'cmd is required'),
    (['--git-url', 'git://127.0.0.1/x', '--cmd', 'true', '--timeout', '0'],
     'timeout must be'),
    (['--git-url', 'git://127.0.0.1/x', '--cmd', 'true', '--env', 'X'],
     'NAME=VALUE'),
    (['--git-url', 'git://127.0.0.1/x'], 'the following arguments are '
     'required: --cmd'),
    (['--git-url', 'git://127.0.0.1/x', '--cmd', 'true', '--colour', 'red'],
     'unrecognized arguments: --colour'),
    (['--git-url', 'https://h/r\n', '--cmd', 'true'],
     'spec.git_url: the value is not a URL without whitespace'),
    (['--git-url', 'git://127.0.0.1/x', '--cmd', 'true', '--ref=-x'],
     "spec.ref: '-x' is not a branch, tag or commit sha"),
])
def test_bad_input_is_refused_with_exit_status_2(operator, args, message):
    before = _cli(operator['config'], 'job', 'list', '-f', 'json', check=0)
    result = _cli(operator['config'], 'job', 'submit', *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert 'Traceback' not in result.stderr
    after = _cli(operator['config'], 'job', 'list', '-f', 'json', check=0)
    assert json.loads(after.stdout) == json.loads(before.stdout)


def test_run_all_in_one_with_the_local_driver(git_server):
    result = subprocess.run(
        [sys.executable, '-m', 'buildfarm.cli.app', 'run', '--repo',
         git_server['path'], '--cmd', 'cat version; echo uid=$(id -u)',
         '-f', 'json'],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    job = json.loads(result.stdout)
    assert job['commit'] == git_server['head']
    assert 'two\n' in result.stderr
    if os.geteuid() == 0:
        # A uid of its own, from [local] job_uids, with no passwd entry.
        uid, = [int(line[4:]) for line in result.stderr.splitlines()
                if line.startswith('uid=')]
        assert 61000 <= uid <= 61999


def test_run_takes_secrets_from_standard_input(git_server, tmp_path):
    # A path with a space: run gives the controller a quoted file URL.
    repo = tmp_path / 'a repo'
    shutil.copytree(git_server['path'], repo)
    digest = hashlib.sha256(b's3cret-from-stdin').hexdigest()
    proc = subprocess.Popen(
        [sys.executable, '-m', 'buildfarm.cli.app', 'run', '--repo',
         str(repo), '--secret-env-file', '-', '--cmd',
         'test "$(printf %%s "$API_KEY" | sha256sum)" = "%s  -" && '
         'echo "key=$API_KEY"' % digest, '-f', 'json'],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    # ps shows the command line, never the secret.
    with open('/proc/%d/cmdline' % proc.pid, 'rb') as f:
        assert b's3cret-from-stdin' not in f.read()
    out, err = proc.communicate('# keys\nAPI_KEY=s3cret-from-stdin\n',
                                timeout=120)
    assert proc.returncode == 0, err
    assert json.loads(out)['state'] == 'succeeded'
    assert 'key=***' in err
    assert 's3cret-from-stdin' not in out + err


def test_run_with_the_docker_driver_serves_a_local_repo_read_only(
        operator, git_server):
    result = _cli(operator['config'], 'run', '--driver', 'docker',
                  '--repo', git_server['path'], '--cmd',
                  'cat version; touch %s/x || echo read-only'
                  % git_server['path'], '-f', 'json')
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)['commit'] == git_server['head']
    assert 'two\n' in result.stderr
    assert 'read-only\n' in result.stderr


def test_run_with_the_docker_driver_reaches_a_loopback_broker_by_default(
        tmp_path, make_vhost, git_server):
    # Nothing about networks in the configuration: on Docker's default
    # bridge network the node could not reach a broker on 127.0.0.1.
    config = tmp_path / 'buildfarm.conf'
    config.write_text('[docker]\nimage = %s\n' % conftest.IMAGE)
    result = _cli(str(config), 'run', '--driver', 'docker',
                  '--transport-url', make_vhost(), '--repo',
                  git_server['path'], '--cmd', 'cat version', '-f', 'json')
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)['state'] == 'succeeded'


def _glance():
    import openstack
    return openstack.connect(auth_type='none',
                             image_endpoint_override=conftest.GLANCE_URL)


def test_submit_build_waits_for_the_image(operator, git_server):
    result = _cli(operator['config'], 'job', 'submit-build', '--git-url',
                  git_server['url'], '--image-name', 'bf-cli-build',
                  '--language-pack', 'python', '--wait', '-f', 'json')
    job = json.loads(result.stdout)
    # The repository has no app.py and no Procfile: nothing to run.
    assert result.returncode == 2, result.stderr
    assert job['kind'] == 'build_image'
    assert job['state'] == 'error'
    assert 'released no process type' in job['reason']
    assert 'language pack python' in result.stderr


ELEMENTS = os.path.join(os.path.dirname(__file__), '..', '..', 'elements')


def test_lp_check_builds_runs_and_probes_the_sample_apps(operator):
    result = _cli(operator['config'], 'lp', 'check',
                  os.path.join(ELEMENTS, 'lp-python'), '-f', 'json')
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [(r['app'], r['result']) for r in rows] == [('hello-web', 'pass')]
    assert 'hello from lp-python' in rows[0]['detail']
    leftovers = [i.name for i in _glance().image.images()
                 if i.name.startswith('lp-check-')]
    assert leftovers == []


def test_lp_check_reports_a_pack_whose_release_is_malformed(operator,
                                                            tmp_path):
    element = tmp_path / 'lp-python'
    shutil.copytree(os.path.join(ELEMENTS, 'lp-python'), element)
    release = element / 'static/opt/buildfarm/packs/python/bin/release'
    release.write_text('#!/bin/sh\necho "config_vars: [unclosed"\n')
    result = _cli(operator['config'], 'lp', 'check', str(element),
                  '-f', 'json')
    assert result.returncode == 1, result.stderr
    row, = json.loads(result.stdout)
    assert row['result'] == 'fail'
    assert "release step printed malformed YAML" in row['detail']
