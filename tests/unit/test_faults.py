"""A failed write at each step of dispatch and of report handling leaves
no job stuck and no node behind.

The controller runs with the fake driver and a real SQLite store; the
faults come from the lowest seams: sqlite3 raises "database is locked"
for one statement of the step (SQLAlchemy turns it into its
OperationalError, as with a real locked database), or every write of the
log store fails with ENOSPC (a full disk). The test plays the agents
the way the real one behaves: it retries a failed registration or
report, and its node stops when its registration is refused.
"""

import errno
import sqlite3
import time

import pytest
import sqlalchemy as sa

from buildfarm.controller import logstore
from buildfarm.controller import rpcapi
from buildfarm.drivers import base
from buildfarm import exception
from buildfarm import states
from tests.unit.test_controller import _Agent
from tests.unit.test_controller import _boot_job
from tests.unit.test_controller import _containers
from tests.unit.test_controller import _run_on_new_node
from tests.unit.test_controller import _submit
from tests.unit.test_controller import _wait


def _update(table, value):
    def matches(statement, parameters):
        return (statement.startswith('UPDATE %s SET' % table) and
                value in parameters)
    return matches


# The writes of a job's way from submission to its node's deletion, each
# a (statement, parameters) predicate.
STEPS = {
    'node created': lambda s, p: s.startswith('INSERT INTO nodes'),
    'node booted': lambda s, p: s.startswith('UPDATE nodes SET external_id'),
    'registration': lambda s, p: 'ready_at IS NULL' in s,
    'job running': _update('jobs', states.RUNNING),
    'node in use': _update('nodes', states.NODE_IN_USE),
    'job ended': _update('jobs', states.SUCCEEDED),
    'node released': _update('nodes', states.NODE_DELETING),
    'node deleted': _update('nodes', states.NODE_DELETED),
}
DISK_FULL = 'log store: disk full'


class _FailOnce:
    """sqlite3 fails the first statement that ``matches``."""

    def __init__(self, engine, matches):
        self.matches = matches
        self.fired = None
        self.armed = False
        sa.event.listen(engine, 'before_cursor_execute', self)

    def __call__(self, conn, cursor, statement, parameters, context,
                 executemany):
        if self.armed and self.fired is None and self.matches(
                statement, parameters):
            self.fired = statement
            self.fired_at = time.monotonic()
            raise sqlite3.OperationalError('database is locked')


@pytest.fixture
def faulty(conf):
    conf.set_override('reconcile_interval', 2, 'controller')
    conf.set_override('monitor_interval', 1, 'controller')
    return conf


def _full_disk(monkeypatch):
    real_open = open

    def open_(path, mode='r', *args, **kwargs):
        if any(m in mode for m in 'wa'):
            raise OSError(errno.ENOSPC, 'No space left on device', path)
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr(logstore, 'open', open_, raising=False)


class _Agents:
    """The agents of every node the fake driver started."""

    def __init__(self, controller):
        self.controller = controller
        self.sent = []   # (node id, job message) the controller sent
        controller.lifecycle.agents.run_job = (
            lambda node_id, job: self.sent.append((node_id, job)))
        self.registered = set()
        self.ran = set()

    @staticmethod
    def _retry(call):
        """Call as the agent does: again after a failure, but not after
        a refusal."""
        for attempt in range(3):
            try:
                return call()
            except exception.AgentAuthError:
                raise
            except Exception:
                time.sleep(0.2)
        raise RuntimeError('no answer')

    def step(self):
        for container in list(_containers(self.controller).values()):
            node_id = container.labels[base.NODE_LABEL]
            if container.status == 'running' and (
                    node_id not in self.registered):
                self.registered.add(node_id)
                self._register(node_id, container)
        for node_id, job in list(self.sent):
            if (node_id, job['id']) not in self.ran:
                self._run(node_id, job['id'])

    def _register(self, node_id, container):
        boot_job = _boot_job(self.controller, {'id': node_id})
        boot_id = boot_job and boot_job['id']
        agent = _Agent(self.controller, node_id)
        try:
            answer = self._retry(lambda: agent.agent_ready({}, boot_id))
        except Exception:
            container.kill(1)   # the agent stops; so does its node
            return
        if boot_id and answer['job_id'] == boot_id:
            self._run(node_id, boot_id)

    def _run(self, node_id, job_id):
        self.ran.add((node_id, job_id))
        agent = _Agent(self.controller, node_id)
        try:
            self._retry(lambda: agent.log_chunk(job_id, 0, 'output\n'))
            self._retry(lambda: agent.report(job_id, {
                'state': states.SUCCEEDED, 'exit_code': 0}))
        except Exception:
            pass   # a job retried elsewhere meanwhile: this node is refused


def _run_until_done(controller, api, agents, job):
    def ended():
        agents.step()
        seen = api.get_job(job['id'])
        return seen if seen['state'] in states.TERMINAL else None
    return _wait(ended, timeout=30)


def _no_node_left(controller, api, agents):
    api.pool_set('default', min_ready=0)
    controller.scheduler.wake()
    # A node the warm pool was booting registers, then goes as surplus.
    _wait(lambda: agents.step() or not _containers(controller) and not (
        controller.store.live_nodes()), timeout=15)


def _start(conf, step, monkeypatch, warm):
    from buildfarm.controller import service
    controller = service.ControllerService(conf)
    fault = _FailOnce(controller.store.engine, STEPS.get(step, lambda *a: 0))
    controller.start()
    api = rpcapi.ControllerAPI(controller.transport,
                               conf.controller.topic, timeout=10)
    agents = _Agents(controller)
    if warm:
        api.pool_set('default', min_ready=1)
        _wait(lambda: agents.step() or [
            n for n in controller.store.live_nodes()
            if n['state'] == states.NODE_READY])
    if step == DISK_FULL:
        _full_disk(monkeypatch)
    fault.armed = True
    return controller, api, agents, fault


@pytest.mark.parametrize('warm,step', [
    (False, step) for step in [*STEPS, DISK_FULL]] + [
    (True, step) for step in ('node in use', 'job running', 'job ended',
                              DISK_FULL)])
def test_a_failed_write_leaves_no_job_stuck_and_no_node_behind(
        faulty, monkeypatch, warm, step):
    controller, api, agents, fault = _start(faulty, step, monkeypatch, warm)
    try:
        job = _submit(api)
        started = time.monotonic()
        job = _run_until_done(controller, api, agents, job)
        took = time.monotonic() - started
        if step == DISK_FULL:
            assert controller.logs.read(job['id'], 0, 10) == ('', 0, True)
        else:
            assert fault.fired, 'the fault was never injected'
        # Retried on a fresh node where the failed write lost the node;
        # within a few passes of the reconciler and of the boot backoff.
        assert job['state'] == states.SUCCEEDED, job
        assert took < 15
        _no_node_left(controller, api, agents)
    finally:
        controller.stop()


def test_a_job_lost_on_its_last_attempt_ends_saying_why(
        faulty, monkeypatch):
    faulty.set_override('max_attempts', 1, 'controller')
    controller, api, agents, fault = _start(faulty, 'node in use',
                                            monkeypatch, False)
    try:
        job = _run_until_done(controller, api, agents, _submit(api))
        assert job['state'] == states.ERROR
        # Within the reconcile interval (and the test's polling).
        assert time.monotonic() - fault.fired_at < 2 + 1
        assert job['reason'].startswith('node_failure: its node ')
        assert 'the controller lost track of the job' in job['reason']
        assert '(after 1 attempts)' in job['reason']
        _no_node_left(controller, api, agents)
    finally:
        controller.stop()


def test_cancel_ends_a_running_job_whose_node_is_gone(controller):
    api = rpcapi.ControllerAPI(controller.transport,
                               controller.conf.controller.topic, timeout=10)
    job = _submit(api)
    node_id = _run_on_new_node(controller, api, job)['id']
    # Its node given up, and the write that should retry the job failed.
    controller.store.transition_node(node_id, states.NODE_DELETING)
    job = api.cancel_job(job['id'])
    assert job['state'] == states.CANCELLED
    assert job['reason'] == (
        'Cancelled by request; its node %s is deleting.' % node_id)
    _wait(lambda: not _containers(controller))


def test_a_restart_repairs_what_the_old_process_left_half_done(conf):
    from buildfarm.controller import service
    first = service.ControllerService(conf)
    first.start()
    api = rpcapi.ControllerAPI(first.transport, conf.controller.topic)
    running, queued = _submit(api), _submit(api)
    _wait(lambda: len([n for n in first.store.live_nodes()
                       if n['external_id']]) == 2)
    nodes = {n['job_id']: n for n in first.store.live_nodes()}
    client = first.drivers['fake'].client
    first.stop()
    # The old process marked one job running on its node, then died
    # before marking the node in use; the other job's node went.
    first.store.transition_job(running['id'], states.RUNNING, attempt=1,
                               node_id=nodes[running['id']]['id'])
    gone = nodes[queued['id']]['id']
    first.store.transition_node(gone, states.NODE_DELETING)
    first.store.transition_node(gone, states.NODE_DELETED)
    second = service.ControllerService(conf)
    second.drivers['fake'].client = client
    second.start()
    try:
        job = second.store.get_job(running['id'])
        # Queued again (and maybe claimed by a node booting for it).
        assert (job['state'], job['attempt']) == (states.QUEUED, 1)
        assert job['node_id'] != nodes[running['id']]['id']
        assert 'the controller lost track of the job' in job['wait_reason']
        assert second.store.get_node(nodes[running['id']]['id'])[
            'state'] in (states.NODE_DELETING, states.NODE_DELETED)
        assert second.store.get_job(queued['id'])['node_id'] != gone
    finally:
        second.stop()


def test_a_boot_whose_container_id_was_never_stored_is_given_up(
        faulty, monkeypatch):
    faulty.set_override('boot_timeout', 1, 'controller')
    controller, api, agents, fault = _start(faulty, 'node booted',
                                            monkeypatch, False)
    try:
        job = _submit(api)
        lost = _wait(lambda: fault.fired and controller.store.live_nodes())
        assert lost[0]['external_id'] is None
        agents.registered.add(lost[0]['id'])   # its agent never comes up
        _wait(lambda: controller.store.get_node(lost[0]['id'])['state'] == (
            states.NODE_DELETED))
        # Its container went too, found by its node id.
        assert all(c.labels[base.NODE_LABEL] != lost[0]['id']
                   for c in _containers(controller).values())
        job = _run_until_done(controller, api, agents, job)
        assert job['state'] == states.SUCCEEDED
        _no_node_left(controller, api, agents)
    finally:
        controller.stop()
