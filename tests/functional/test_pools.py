"""Pools, faults and restarts on the real RabbitMQ and Docker engine."""

import json
import random
import signal
import subprocess
import time
import urllib.request
import uuid

import docker
import pytest

from buildfarm.drivers import base
from buildfarm import states
from tests.functional import conftest


@pytest.fixture
def pool_farm(tmp_path, make_vhost, docker_client):
    conf = conftest.controller_conf(
        tmp_path, make_vhost(), 'bf-pool-%s' % uuid.uuid4().hex[:8],
        {('controller', 'reap_interval'): 1,
         ('controller', 'metrics_port'): conftest.free_port()})
    farm = conftest.Farm(conf, docker_client)
    yield farm
    farm.api.pool_set('default', min_ready=0)
    try:
        farm.assert_no_container_left()
    finally:
        farm.stop()
        for container in farm.containers():
            container.remove(force=True)


def test_a_warm_pool_runs_a_job_on_a_node_booted_before_it(pool_farm,
                                                           git_server):
    api = pool_farm.api
    api.pool_set('default', min_ready=1)
    conftest.wait_until(
        lambda: api.pool_show('default')['nodes']['ready'] == 1,
        what='one ready node')
    warm = [n for n in api.node_list() if n['state'] == 'ready'][0]
    job = pool_farm.run(git_url=git_server['url'], cmd='true')
    assert job['state'] == states.SUCCEEDED
    assert job['node_id'] == warm['id']
    assert warm['ready_at'] < job['created_at']
    # The pool tops itself up.
    conftest.wait_until(
        lambda: api.pool_show('default')['nodes']['ready'] == 1,
        what='the pool topped up')
    assert [n['id'] for n in api.node_list()] != [warm['id']]
    metrics = urllib.request.urlopen('http://127.0.0.1:%d/metrics' %
                                     pool_farm.conf.controller.metrics_port,
                                     timeout=10).read().decode()
    assert 'buildfarm_nodes{label="default",state="ready"} 1.0' in metrics
    assert 'buildfarm_node_boots_total{label="default"} 2.0' in metrics
    assert 'buildfarm_job_phase_seconds_count{phase="run"} 1.0' in metrics


def test_jobs_wait_in_order_at_max_nodes(pool_farm, git_server):
    api = pool_farm.api
    api.pool_set('default', max_nodes=1)
    first = pool_farm.submit(git_url=git_server['url'], cmd='sleep 2')
    second = pool_farm.submit(git_url=git_server['url'], cmd='true')
    conftest.wait_until(
        lambda: api.get_job(first['id'])['state'] == states.RUNNING,
        what='first job running')
    waiting = api.get_job(second['id'])
    assert waiting['state'] == states.QUEUED
    assert 'pool default is at max_nodes' in waiting['wait_reason']
    first, second = (pool_farm.wait(j['id']) for j in (first, second))
    assert first['state'] == second['state'] == states.SUCCEEDED
    assert second['started_at'] >= first['finished_at']
    api.pool_set('default', max_nodes=10)


def test_leaked_containers_are_reaped(pool_farm, docker_client):
    leaked = docker_client.containers.run(
        conftest.IMAGE, ['sleep', '300'], detach=True, init=True,
        labels={base.OWNER_LABEL: pool_farm.controller_id,
                base.NODE_LABEL: 'unknown-node'})
    conftest.wait_until(lambda: not pool_farm.containers(), timeout=30,
                        what='the leaked container reaped')
    with pytest.raises(docker.errors.NotFound):
        leaked.reload()


def _start_controller(config_file, log):
    return subprocess.Popen(['buildfarm-controller', '--config-file',
                             config_file], stdout=subprocess.DEVNULL,
                            stderr=log)


def _cli_json(config_file, *args):
    result = subprocess.run(['buildfarm', '--config-file', config_file,
                             *args, '-f', 'json'], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_kill_9_of_the_controller_loses_no_job_and_leaks_no_node(
        tmp_path, make_vhost, docker_client, git_server):
    controller_id = 'bf-kill-%s' % uuid.uuid4().hex[:8]
    config_file = conftest.write_config(
        tmp_path / 'buildfarm.conf', make_vhost(), controller_id,
        ['max_nodes = 3', 'monitor_interval = 1'])
    log = open(tmp_path / 'controller.log', 'w')
    proc = _start_controller(config_file, log)
    rng = random.Random(7)
    try:
        conftest.wait_until(lambda: subprocess.run(
            ['buildfarm', '--config-file', config_file, 'job', 'list'],
            capture_output=True).returncode == 0, what='controller up')
        jobs = [_cli_json(config_file, 'job', 'submit', '--git-url',
                          git_server['url'], '--cmd',
                          'echo begin; sleep %d; echo e""nd' % (i % 3 + 1))
                for i in range(6)]
        for _ in range(3):
            time.sleep(rng.uniform(0.5, 3.0))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            proc = _start_controller(config_file, log)

        def all_done():
            shown = [_cli_json(config_file, 'job', 'show', j['id'])
                     for j in jobs]
            return shown if all(j['state'] in states.TERMINAL
                                for j in shown) else None
        shown = conftest.wait_until(all_done, timeout=240,
                                    what='every job ended')
        assert [j['state'] for j in shown] == [states.SUCCEEDED] * 6
        for job in shown:
            with open(job['log_path']) as f:
                text = f.read()
            assert text.count('[buildfarm] job succeeded') == 1
            assert text.count('\nend\n') == 1
        conftest.wait_until(
            lambda: not conftest.owned_containers(docker_client,
                                                  controller_id),
            timeout=60, what='no node left')
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        for c in conftest.owned_containers(docker_client, controller_id):
            c.remove(force=True)


@pytest.fixture
def small_farm(tmp_path, make_vhost, docker_client, git_server):
    """Nodes with little memory and few processes."""
    conf = conftest.controller_conf(
        tmp_path, make_vhost(), 'bf-small-%s' % uuid.uuid4().hex[:8],
        {('docker', 'memory_limit'): '256m', ('docker', 'pids_limit'): 128})
    farm = conftest.Farm(conf, docker_client)
    yield farm
    try:
        farm.assert_no_container_left()
    finally:
        farm.stop()


def test_a_fork_bomb_and_a_memory_hog_are_contained(small_farm, git_server):
    # The job's own shell forks once, before the bomb fills the node (a
    # pipeline would fork twice, racing the bomb), then needs no fork: exec.
    bomb = small_farm.submit(git_url=git_server['url'], timeout=8,
                             cmd='bomb() { bomb | bomb & }; (bomb) & '
                                 'exec sleep 60')
    hog = small_farm.submit(git_url=git_server['url'],
                            cmd='python3 -c "a = bytearray(400 * 2**20)"')
    neighbour = small_farm.submit(git_url=git_server['url'],
                                  cmd='sleep 3; echo fine')
    bomb, hog, neighbour = (small_farm.wait(j['id'])
                            for j in (bomb, hog, neighbour))
    assert bomb['state'] == states.TIMED_OUT, bomb['reason']
    assert "hit the node's process limit" in bomb['reason']
    assert (hog['state'], hog['exit_code']) == (states.FAILED, 137)
    assert 'more memory than the node has' in hog['reason']
    assert neighbour['state'] == states.SUCCEEDED
    # The controller still answers.
    assert small_farm.api.get_job(neighbour['id'])['exit_code'] == 0


def test_secret_env_is_masked_and_never_stored(small_farm, git_server):
    secret = 'tok-%s' % uuid.uuid4().hex
    job = small_farm.run(git_url=git_server['url'],
                         secret_env={'API_TOKEN': secret},
                         cmd='echo "token: $API_TOKEN"; '
                             'test "$API_TOKEN" = %s' % secret[:4] + '"' +
                             secret[4:] + '"')
    assert job['state'] == states.SUCCEEDED
    assert job['spec']['secret_env'] == {'API_TOKEN': '***'}
    log = small_farm.log(job['id'])
    assert 'token: ***' in log
    assert secret not in log
    with small_farm.service.store.engine.connect() as connection:
        dump = '\n'.join(connection.connection.iterdump())
    assert secret not in dump


def test_a_report_forged_with_another_nodes_credentials_is_rejected(
        small_farm, git_server):
    from buildfarm.common import auth
    from buildfarm.controller import rpcapi
    from buildfarm import exception
    victim = small_farm.submit(git_url=git_server['url'],
                               cmd='echo up; sleep 5')
    other = small_farm.submit(git_url=git_server['url'],
                              cmd='echo up; sleep 5')
    for job in (victim, other):
        small_farm.wait_for_log(job['id'], 'up\n')
    other_node = small_farm.api.get_job(other['id'])['node_id']
    forger = rpcapi.NodeCallbackAPI(
        small_farm.service.node_transport,
        rpcapi.node_topic(small_farm.conf), other_node,
        auth.session_key(conftest.NODE_KEY, other_node))
    with pytest.raises(exception.AgentAuthError, match='not assigned'):
        forger.report(victim['id'], {'state': states.FAILED,
                                     'exit_code': 1})
    assert small_farm.wait(victim['id'])['state'] == states.SUCCEEDED


def test_a_node_that_loses_its_controller_ends_itself(
        tmp_path, make_vhost, docker_client):
    conf = conftest.controller_conf(
        tmp_path, make_vhost(), 'bf-lease-%s' % uuid.uuid4().hex[:8],
        {('controller', 'node_lease'): 10,
         ('controller', 'node_heartbeat_interval'): 1,
         ('controller', 'min_ready'): 1})
    farm = conftest.Farm(conf, docker_client)
    try:
        conftest.wait_until(
            lambda: farm.api.pool_show('default')['nodes']['ready'],
            what='a ready node')
        container = farm.containers()[0]
    finally:
        farm.stop()   # the controller is gone; its node is not destroyed
    try:
        container.reload()
        assert container.status == 'running'
        conftest.wait_until(
            lambda: container.reload() or container.status == 'exited',
            timeout=40, what='the node ending itself')
        assert 'no answer from the controller' in container.logs().decode()
    finally:
        container.remove(force=True)


def test_a_broker_restart_mid_job_loses_no_report(tmp_path, make_vhost,
                                                  docker_client, git_server):
    conf = conftest.controller_conf(
        tmp_path, make_vhost(), 'bf-broker-%s' % uuid.uuid4().hex[:8],
        {('controller', 'node_heartbeat_interval'): 1})
    farm = conftest.Farm(conf, docker_client)
    try:
        job = farm.submit(git_url=git_server['url'],
                          cmd='echo up; sleep 8; echo "do""ne"')
        farm.wait_for_log(job['id'], 'up\n')
        subprocess.run(['rabbitmqctl', '-q', 'stop_app'], check=True,
                       timeout=120)
        time.sleep(2)
        subprocess.run(['rabbitmqctl', '-q', 'start_app'], check=True,
                       timeout=120)
        subprocess.run(['rabbitmqctl', '-q', 'await_startup'], check=True,
                       timeout=120)
        job = farm.wait(job['id'], timeout=180)
        assert (job['state'], job['attempt']) == (states.SUCCEEDED, 1)
        log = farm.log(job['id'])
        assert log.count('\ndone\n') == 1
        assert log.count('[buildfarm] job succeeded') == 1
        farm.assert_no_container_left(timeout=60)
    finally:
        farm.stop()
