#!/usr/bin/env python3
"""Benchmark of the worker pool, every figure measured in this one run.

1. Latency on a warm pool: a job submitted while a registered node waits,
   from submission to stored result, against the raw cost of the same
   clone and command run directly on this host (target: within 1.3x).
2. Throughput with max_nodes=4 (min_ready=4): jobs per second through the
   farm against raw "docker run" lifecycles of the worker image doing the
   same clone and command from 4 threads (target: at least 0.8x).
3. Controller CPU per job with the fake driver: buildfarm-controller in its
   own process, 1,000 jobs queued at once, 200 nodes, agents simulated by
   this script over RabbitMQ; the controller's CPU seconds per job.

usage: tools/benchmark_pool.py [--runs N] [--jobs N] [--transport-url URL]
Needs RabbitMQ, a Docker engine and the worker image (tools/setup-test-env.sh).
"""

import argparse
import concurrent.futures
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

import docker
import psutil

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchmark_repo_job as cold  # noqa: E402

from buildfarm.common import auth  # noqa: E402
from buildfarm.common import config as bf_config  # noqa: E402
from buildfarm.common import rpc  # noqa: E402
from buildfarm.common import seal  # noqa: E402
from buildfarm.controller import rpcapi  # noqa: E402
from buildfarm.controller import service  # noqa: E402
from buildfarm.db import api as db_api  # noqa: E402
from buildfarm import states  # noqa: E402

KEY = 'benchmark-node-key'


def wait_ready(api, count):
    while api.pool_show('default')['nodes']['ready'] < count:
        time.sleep(0.01)


def raw_host_run(url, workdir):
    start = time.monotonic()
    dest = tempfile.mkdtemp(dir=workdir)
    subprocess.run(['git', 'clone', '-q', '--depth', '1', url, dest],
                   check=True)
    subprocess.run(cold.CMD, shell=True, cwd=dest, check=True,
                   capture_output=True)
    return time.monotonic() - start


def warm_latency(api, url, workdir, runs):
    api.pool_set('default', min_ready=1, max_nodes=4)
    farm, raw = [], []
    for _ in range(runs + 1):      # the first of each is a warm-up
        wait_ready(api, 1)
        farm.append(cold.farm_run(api, url))
        raw.append(raw_host_run(url, workdir))
    return statistics.median(farm[1:]), statistics.median(raw[1:])


def farm_throughput(api, url, jobs):
    api.pool_set('default', min_ready=4, max_nodes=4)
    wait_ready(api, 4)
    start = time.monotonic()
    ids = [api.repo_job({'git_url': url, 'cmd': cold.CMD})['id']
           for _ in range(jobs)]
    for job_id in ids:
        while api.get_job(job_id)['state'] not in states.TERMINAL:
            time.sleep(0.05)
    elapsed = time.monotonic() - start
    api.pool_set('default', min_ready=0)
    return jobs / elapsed


def raw_throughput(client, image, url, jobs):
    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: cold.raw_run(client, image, url),
                      range(jobs)))
    return jobs / (time.monotonic() - start)


def controller_cpu(workdir, transport_url, jobs, nodes):
    """CPU seconds per job of a controller with the fake driver."""
    name = 'bench-cpu-%s' % uuid.uuid4().hex[:8]
    config = os.path.join(workdir, 'cpu.conf')
    with open(config, 'w') as f:
        f.write('\n'.join([
            '[DEFAULT]', 'transport_url = %s' % transport_url,
            '[database]', 'connection = sqlite:///%s/cpu.sqlite' % workdir,
            '[controller]', 'driver = fake', 'controller_id = %s' % name,
            'topic = %s' % name, 'log_dir = %s/cpu-logs' % workdir,
            'node_secret_key = %s' % KEY, 'max_nodes = %d' % nodes,
            'max_concurrent_boots = %d' % nodes, 'monitor_interval = 5',
            'heartbeat_timeout = 3600',
            '']))
    proc = subprocess.Popen(['buildfarm-controller', '--config-file',
                             config], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    conf = bf_config.load(['--config-file', config])
    transport = rpc.get_transport(conf)
    api = rpcapi.ControllerAPI(transport, name, timeout=60)
    for _ in range(100):
        try:
            api.list_jobs(limit=1)
            break
        except rpc.MessagingTimeout:
            time.sleep(0.2)
    controller = psutil.Process(proc.pid)
    cpu_before = sum(controller.cpu_times()[:2])
    for _ in range(jobs):
        api.repo_job({'git_url': 'https://example.com/r', 'cmd': 'x'})
    agents = {}
    done = 0
    deadline = time.monotonic() + 600
    # The simulated agents learn of nodes from the database, not through
    # the controller, so that its CPU is spent on the jobs alone.
    store = db_api.JobStore('sqlite:///%s/cpu.sqlite' % workdir)
    while done < jobs and time.monotonic() < deadline:
        for node in store.live_nodes():
            agent = agents.get(node['id'])
            if agent is None:
                agent = agents[node['id']] = rpcapi.NodeCallbackAPI(
                    transport, name + '-nodes', node['id'],
                    auth.node_secret(KEY, node['id']))
            if node['state'] == 'booting' and node['external_id']:
                agent.agent_ready({}, seal.new_key_pair()[1])
                agent.use_session(auth.session_key(KEY, node['id']))
            elif node['state'] == 'in-use' and node['job_id']:
                if agent.report(node['job_id'], {
                        'state': states.SUCCEEDED, 'exit_code': 0,
                        'timings': {}})['duplicate'] is False:
                    done += 1
    cpu = sum(controller.cpu_times()[:2]) - cpu_before
    proc.terminate()
    proc.wait()
    rpc.forget_transport(conf.transport_url)
    return cpu / max(done, 1), done


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--runs', type=int, default=10)
    parser.add_argument('--jobs', type=int, default=24)
    parser.add_argument('--cpu-jobs', type=int, default=1000)
    parser.add_argument('--cpu-nodes', type=int, default=200)
    parser.add_argument('--transport-url',
                        default='rabbit://guest:guest@127.0.0.1:5672/')
    parser.add_argument('--image', default='buildfarm-worker:latest')
    parser.add_argument('--git-port', type=int, default=19420)
    parser.add_argument('--cpu-only', action='store_true',
                        help='measure only the controller CPU per job')
    args = parser.parse_args()
    if args.cpu_only:
        workdir = tempfile.mkdtemp(prefix='buildfarm-bench-')
        report_cpu(args, *controller_cpu(workdir, args.transport_url,
                                         args.cpu_jobs, args.cpu_nodes))
        return

    workdir = tempfile.mkdtemp(prefix='buildfarm-bench-')
    cold.make_repo(workdir)
    daemon, url = cold.start_git_daemon(workdir, args.git_port)
    client = docker.from_env()
    conf = cold.farm_conf(workdir, args.transport_url, args.image)
    controller = service.ControllerService(conf)
    controller.start()
    api = rpcapi.ControllerAPI(controller.transport, conf.controller.topic)
    try:
        farm_latency, raw_latency = warm_latency(api, url, workdir,
                                                 args.runs)
        farm_rate = farm_throughput(api, url, args.jobs)
        raw_rate = raw_throughput(client, args.image, url, args.jobs)
    finally:
        api.pool_set('default', min_ready=0)
        time.sleep(2)
        controller.stop()
        rpc.forget_transport(conf.transport_url)
        daemon.terminate()
    cpu_per_job, cpu_jobs = controller_cpu(
        workdir, args.transport_url, args.cpu_jobs, args.cpu_nodes)

    print('warm pool latency, %d runs each, same run:' % args.runs)
    print('  raw clone + command on the host: median %.3f s' % raw_latency)
    print('  buildfarm job on a warm node:    median %.3f s' % farm_latency)
    print('  ratio: %.2fx (target: at most 1.30x)' % (
        farm_latency / raw_latency))
    print('throughput, %d jobs, 4 at a time:' % args.jobs)
    print('  raw docker run, 4 threads: %.2f jobs/s' % raw_rate)
    print('  buildfarm, max_nodes=4:    %.2f jobs/s' % farm_rate)
    print('  ratio: %.2fx (target: at least 0.80x)' % (farm_rate / raw_rate))
    report_cpu(args, cpu_per_job, cpu_jobs)


def report_cpu(args, cpu_per_job, cpu_jobs):
    print('controller CPU, fake driver, %d jobs queued at once, %d nodes:'
          % (args.cpu_jobs, args.cpu_nodes))
    print('  %.1f ms CPU per job (%d jobs completed)' % (
        cpu_per_job * 1000, cpu_jobs))


if __name__ == '__main__':
    main()
