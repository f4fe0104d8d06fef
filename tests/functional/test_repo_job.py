"""repo_job on real Docker nodes over a real RabbitMQ."""

import uuid

from buildfarm.common import auth
from buildfarm import states
from tests.functional import conftest


def test_a_job_runs_at_a_tag_as_the_unprivileged_user(clean_farm,
                                                      git_server):
    job = clean_farm.run(git_url=git_server['url'], ref='v1',
                         cmd='test "$(cat version)" = one && id -un')
    assert job['state'] == states.SUCCEEDED, job['reason']
    assert job['exit_code'] == 0
    assert job['commit'] == git_server['v1']
    assert set(job['timings']) == {'queued', 'node_boot', 'agent_ready',
                                   'clone', 'run', 'report'}
    log = clean_farm.log(job['id'])
    assert '\nbuildfarm\n' in log
    assert 'checked out %s' % git_server['v1'] in log


def test_default_branch_and_sha(clean_farm, git_server):
    job = clean_farm.run(git_url=git_server['url'], cmd='cat version')
    assert job['commit'] == git_server['head']
    job = clean_farm.run(git_url=git_server['url'], ref=git_server['v1'],
                         cmd='cat version')
    assert (job['state'], job['commit']) == (states.SUCCEEDED,
                                             git_server['v1'])
    assert '\none\n' in clean_farm.log(job['id'])


def test_a_failing_command(clean_farm, git_server):
    job = clean_farm.run(git_url=git_server['url'], cmd='echo no; exit 3')
    assert (job['state'], job['exit_code']) == (states.FAILED, 3)
    assert job['reason'] == 'The command exited with status 3.'


def test_an_unreachable_repository(clean_farm, git_server):
    job = clean_farm.run(git_url='git://127.0.0.1:%d/missing'
                         % git_server['port'], cmd='true')
    assert job['state'] == states.ERROR
    assert job['reason'].startswith(
        'Cannot reach repository git://127.0.0.1:%d/missing'
        % git_server['port'])


def test_a_missing_ref(clean_farm, git_server):
    job = clean_farm.run(git_url=git_server['url'], ref='no-such-branch',
                         cmd='true')
    assert job['state'] == states.ERROR
    assert "Ref 'no-such-branch' not found" in job['reason']


def test_a_command_that_times_out_and_its_whole_tree_dies(clean_farm,
                                                          git_server):
    # Were any of these left alive, it would print SURVIVOR into the log
    # (its stdout is the job's).
    late = 'sleep 4; echo SURV""IVOR'
    job = clean_farm.run(
        git_url=git_server['url'], timeout=2,
        cmd="sh -c '%s' & (setsid sh -c '%s' &); echo up; sleep 300"
            % (late, late))
    assert job['state'] == states.TIMED_OUT
    assert 'timeout of 2 s' in job['reason']
    log = clean_farm.log(job['id'])
    assert 'up\n' in log
    assert 'SURVIVOR' not in log


def test_cancel_of_a_running_job(clean_farm, git_server):
    job = clean_farm.submit(git_url=git_server['url'],
                            cmd='echo started; sleep 300')
    clean_farm.wait_for_log(job['id'], 'started\n')
    clean_farm.api.cancel_job(job['id'])
    job = clean_farm.wait(job['id'], timeout=60)
    assert job['state'] == states.CANCELLED
    assert 'Cancelled while the command ran' in job['reason']


def test_a_job_that_floods_its_log(clean_farm, git_server):
    cap = clean_farm.conf.agent.max_log_bytes
    job = clean_farm.run(git_url=git_server['url'],
                         cmd='yes flood | head -c %d; echo done' % (3 * cap))
    assert job['state'] == states.SUCCEEDED
    log = clean_farm.log(job['id'])
    assert 'log truncated: output past %d bytes is not kept' % cap in log
    assert '%d bytes of output were dropped' % (2 * cap + 5) in log
    assert log.count('flood') <= cap // 6 + 1
    assert cap < len(log.encode()) < cap + 4096


def test_a_node_that_dies_mid_job_is_retried_on_a_fresh_node(clean_farm,
                                                             git_server):
    job = clean_farm.submit(git_url=git_server['url'],
                            cmd='echo started; sleep 4; echo fin""ished')
    clean_farm.wait_for_log(job['id'], 'started\n')
    first = [c.id for c in clean_farm.containers()]
    assert len(first) == 1
    clean_farm.docker.containers.get(first[0]).kill()
    job = clean_farm.wait(job['id'], timeout=120)
    assert (job['state'], job['attempt']) == (states.SUCCEEDED, 2)
    log = clean_farm.log(job['id'])
    assert 'the container of node' in log and 'exit code 137' in log
    assert log.index('run again on a fresh node') < log.index('finished\n')


def test_the_job_cannot_read_the_agents_credentials(clean_farm, git_server):
    probe = ('cat /etc/buildfarm-agent/agent.conf; '
             'ls /etc/buildfarm-agent; '
             'for f in /proc/[0-9]*/environ; do cat $f; done; '
             'env; '
             'grep -rs node_secret /etc /tmp /var/lib /proc/1/root; '
             'echo probe-done')
    job = clean_farm.run(git_url=git_server['url'], cmd=probe)
    log = clean_farm.log(job['id'])
    assert 'probe-done' in log
    assert ('agent.conf: Permission denied' in log or
            'agent.conf: No such file' in log)
    secrets = [auth.node_secret(conftest.NODE_KEY, job['node_id']),
               auth.session_key(conftest.NODE_KEY, job['node_id'])]
    for url in (clean_farm.conf.transport_url,
                clean_farm.conf.node.transport_url):
        secrets.append(url.split(':')[2].split('@')[0])
    for leaked in (*secrets, 'transport_url'):
        assert leaked not in log


def test_the_worker_image_missing(tmp_path, make_vhost, docker_client,
                                  git_server):
    conf = conftest.controller_conf(
        tmp_path, make_vhost(), 'bf-test-%s' % uuid.uuid4().hex[:8],
        {('docker', 'image'): 'buildfarm-no-such-image:latest'})
    farm = conftest.Farm(conf, docker_client)
    try:
        job = farm.run(git_url=git_server['url'], cmd='true')
        assert job['state'] == states.ERROR
        assert ("worker image 'buildfarm-no-such-image:latest' is not on "
                'the Docker engine') in job['reason']
        farm.assert_no_container_left()
    finally:
        farm.stop()
