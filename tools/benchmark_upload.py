#!/usr/bin/env python3
"""Benchmark: the agent's Glance upload against a plain HTTP PUT.

Uploads the same 1 GiB file to the same Glance, alternately, RUNS times
each: (1) with buildfarm.common.glance.upload, what a build node runs, in a
process of its own whose memory is sampled; (2) with curl: one image record
made with a POST, then a plain PUT of the file. Prints the median
throughput of both and their ratio (target: at least 0.8), and the upload
process's peak memory above its idle size (target: under 100 MB).

usage: benchmark_upload.py [GLANCE_URL] [RUNS]   (default
http://127.0.0.1:19292, 3 runs; tools/start-glance.sh starts one)
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import psutil

SIZE = 1024 ** 3


def _make_file(path):
    block = os.urandom(1024 * 1024)
    with open(path, 'wb') as f:
        for i in range(SIZE // len(block)):
            # Different blocks, so nothing along the way can compress it.
            f.write(i.to_bytes(8, 'big') + block[8:])


def _delete(url, image_id):
    urllib.request.urlopen(urllib.request.Request(
        '%s/v2/images/%s' % (url, image_id), method='DELETE'))


def _plain_put(url, path):
    """Seconds for a plain PUT of the file into a new image record."""
    request = urllib.request.Request(
        url + '/v2/images', method='POST',
        data=json.dumps({'name': 'bench-plain', 'disk_format': 'raw',
                         'container_format': 'docker'}).encode(),
        headers={'Content-Type': 'application/json'})
    with urllib.request.urlopen(request) as answer:
        image_id = json.load(answer)['id']
    start = time.monotonic()
    subprocess.run(['curl', '-sSf', '-T', path, '-X', 'PUT', '-H',
                    'Content-Type: application/octet-stream',
                    '%s/v2/images/%s/file' % (url, image_id)], check=True)
    seconds = time.monotonic() - start
    _delete(url, image_id)
    return seconds


def _agent_upload(url, path):
    """(seconds, idle RSS, peak RSS) of the agent's upload, run in a
    process of its own."""
    child = subprocess.Popen(
        [sys.executable, __file__, '--child', url, path],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    proc = psutil.Process(child.pid)
    assert child.stdout.readline().strip() == 'ready'  # imports done
    idle = peak = proc.memory_info().rss
    done = threading.Event()

    def sample():
        nonlocal peak
        while not done.wait(0.02):
            try:
                peak = max(peak, proc.memory_info().rss)
            except psutil.NoSuchProcess:
                return
    sampler = threading.Thread(target=sample)
    sampler.start()
    child.stdin.write('go\n')
    child.stdin.flush()
    result = json.loads(child.stdout.readline())
    done.set()
    sampler.join()
    child.wait()
    _delete(url, result['image_id'])
    return result['seconds'], idle, peak


def _child(url, path):
    from buildfarm.common import glance
    glance.connect(url)  # the imports an agent has done before it uploads
    print('ready', flush=True)
    sys.stdin.readline()
    start = time.monotonic()
    image = glance.upload({'endpoint': url, 'attempts': 1}, path,
                          'bench-agent', {'build_id': 'benchmark'})
    print(json.dumps({'seconds': time.monotonic() - start,
                      'image_id': image.id}), flush=True)


def main():
    url = sys.argv[1] if len(sys.argv) > 1 else 'http://127.0.0.1:19292'
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'image.raw')
        _make_file(path)
        plain, agent, above_idle = [], [], []
        for run in range(runs):
            plain.append(_plain_put(url, path))
            seconds, idle, peak = _agent_upload(url, path)
            agent.append(seconds)
            above_idle.append(peak - idle)
            print('run %d: plain PUT %.2f s, agent upload %.2f s, agent '
                  'memory idle %.0f MB, peak %.0f MB' % (
                      run + 1, plain[-1], seconds, idle / 1e6, peak / 1e6))
    mib = SIZE / 2 ** 20
    plain_rate = mib / statistics.median(plain)
    agent_rate = mib / statistics.median(agent)
    print('1 GiB to %s, median of %d runs each:' % (url, runs))
    print('  baseline, plain HTTP PUT (curl): %.1f MiB/s' % plain_rate)
    print('  agent upload (openstacksdk):     %.1f MiB/s' % agent_rate)
    print('  ratio agent/plain: %.2f (target >= 0.80)'
          % (agent_rate / plain_rate))
    print('  agent peak memory above idle: %.1f MB (target < 100 MB)'
          % (max(above_idle) / 1e6))


if __name__ == '__main__':
    if sys.argv[1:2] == ['--child']:
        _child(*sys.argv[2:4])
    else:
        main()
