#!/usr/bin/env python3
"""Benchmark: a trivial cold repo_job through the controller vs raw Docker.

Both sides do the same work in a fresh container of the worker image:
shallow-clone a small repository from a git daemon on 127.0.0.1 and run
``git log -1``. The farm side adds what the farm is for: a controller,
RabbitMQ, the agent's registration, log streaming, the report and the
stored result. Runs alternate between the two sides so that both see the
same machine load; the script prints each side's median and their ratio
(target: the farm within 2x of raw).

usage: tools/benchmark_repo_job.py [--runs N] [--transport-url URL]
Needs RabbitMQ, a Docker engine and the worker image (tools/setup-test-env.sh).
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

import docker

from buildfarm.common import config
from buildfarm.common import rpc
from buildfarm.controller import rpcapi
from buildfarm.controller import service
from buildfarm import states

CMD = 'git log -1 --format=%H'
GIT_ENV = {'GIT_AUTHOR_NAME': 'b', 'GIT_AUTHOR_EMAIL': 'b@example.com',
           'GIT_COMMITTER_NAME': 'b', 'GIT_COMMITTER_EMAIL': 'b@example.com',
           'PATH': '/usr/bin:/bin'}


def make_repo(base):
    repo = os.path.join(base, 'bench')
    os.makedirs(repo)
    for args in (['init', '-q', '-b', 'main'], ['commit', '-q',
                                                '--allow-empty', '-m', 'x']):
        subprocess.run(['git', *args], cwd=repo, env=GIT_ENV, check=True)


def start_git_daemon(base, port):
    daemon = subprocess.Popen(
        ['git', 'daemon', '--export-all', '--reuseaddr', '--listen=127.0.0.1',
         '--port=%d' % port, '--base-path=%s' % base, base],
        stderr=subprocess.DEVNULL)
    url = 'git://127.0.0.1:%d/bench' % port
    for _ in range(100):
        if subprocess.run(['git', 'ls-remote', url],
                          capture_output=True).returncode == 0:
            return daemon, url
        time.sleep(0.1)
    raise SystemExit('git daemon did not start')


def farm_conf(workdir, transport_url, image):
    conf = config.load([], default_config_files=[])
    conf.set_override('transport_url', transport_url)
    conf.set_override('connection', 'sqlite:///%s/db.sqlite' % workdir,
                      'database')
    name = 'bench-%s' % uuid.uuid4().hex[:8]
    for group, option, value in [
            ('controller', 'driver', 'docker'),
            ('controller', 'controller_id', name),
            ('controller', 'topic', name),
            ('controller', 'log_dir', os.path.join(workdir, 'logs')),
            ('docker', 'image', image),
            ('docker', 'network_mode', 'host')]:
        conf.set_override(option, value, group)
    return conf


def farm_run(api, url):
    start = time.monotonic()
    job = api.repo_job({'git_url': url, 'cmd': CMD})
    while job['state'] not in states.TERMINAL:
        time.sleep(0.01)
        job = api.get_job(job['id'])
    elapsed = time.monotonic() - start
    if job['state'] != states.SUCCEEDED:
        raise SystemExit('farm job failed: %s' % job['reason'])
    print('  farm phases: %s' % ', '.join(
        '%s %.3f' % (k, v) for k, v in job['timings'].items()),
        file=sys.stderr)
    return elapsed


def raw_run(client, image, url):
    start = time.monotonic()
    client.containers.run(
        image, ['sh', '-c', 'git clone -q --depth 1 %s /tmp/src && cd '
                '/tmp/src && %s' % (url, CMD)],
        network_mode='host', init=True, remove=True)
    return time.monotonic() - start


def wait_for_no_nodes(client, controller_id):
    for _ in range(200):
        if not client.containers.list(all=True, sparse=True, filters={
                'label': 'buildfarm.controller-id=%s' % controller_id}):
            return
        time.sleep(0.05)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--runs', type=int, default=10)
    parser.add_argument('--transport-url',
                        default='rabbit://guest:guest@127.0.0.1:5672/')
    parser.add_argument('--image', default='buildfarm-worker:latest')
    parser.add_argument('--git-port', type=int, default=19419)
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix='buildfarm-bench-')
    make_repo(workdir)
    daemon, url = start_git_daemon(workdir, args.git_port)
    client = docker.from_env()
    conf = farm_conf(workdir, args.transport_url, args.image)
    controller = service.ControllerService(conf)
    controller.start()
    api = rpcapi.ControllerAPI(controller.transport, conf.controller.topic)
    farm, raw = [], []
    try:
        farm_run(api, url)          # warm-up: page cache, first connection
        raw_run(client, args.image, url)
        for i in range(args.runs):
            raw.append(raw_run(client, args.image, url))
            farm.append(farm_run(api, url))
            # The farm removes its node after the job, outside the figure;
            # let it finish so that it does not slow the next raw run.
            wait_for_no_nodes(client, conf.controller.controller_id)
            print('run %2d: raw %.3f s  farm %.3f s'
                  % (i + 1, raw[-1], farm[-1]), file=sys.stderr)
    finally:
        controller.stop()
        rpc.forget_transport(conf.transport_url)
        daemon.terminate()
    raw_median = statistics.median(raw)
    farm_median = statistics.median(farm)
    ratio = farm_median / raw_median
    print('cold repo_job, %d runs each, same machine, same run' % args.runs)
    print('  raw docker run (clone + command): median %.3f s' % raw_median)
    print('  buildfarm end to end:             median %.3f s' % farm_median)
    print('  ratio farm/raw: %.2fx (target: at most 2.00x) -> %s' % (
        ratio, 'met' if ratio <= 2.0 else 'NOT met'))


if __name__ == '__main__':
    main()
