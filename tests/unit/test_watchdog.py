"""The watchdog as a pure detector: an observation in, findings out."""

import datetime

import pytest

from buildfarm.common import config
from buildfarm.controller import pools
from buildfarm.controller import views
from buildfarm.controller import watchdog
from buildfarm.drivers import base
from buildfarm import states

NOW = datetime.datetime(2026, 12, 1, 12, 0, 0)
LABEL = pools.Label(name='default', driver='fake', min_ready=0, max_nodes=2,
                    max_concurrent_boots=1, boot_timeout=60)


@pytest.fixture
def dog():
    conf = config.load([], default_config_files=[])
    return watchdog.Watchdog(conf)


def _node(state, age=10, silent=1, **values):
    node = {'id': 'n-%s' % state, 'label': 'default', 'driver': 'fake',
            'state': state, 'external_id': 'c1', 'job_id': None,
            'created_at': NOW - datetime.timedelta(seconds=age),
            'last_heartbeat': NOW - datetime.timedelta(seconds=silent),
            'hold_until': None}
    node.update(values)
    return node


def _seen(*nodes, statuses=None, jobs=None, labels=None, cancels=None,
          deleting=(), clock=1000.0):
    statuses = statuses or {}
    return watchdog.Observation(
        nodes=list(nodes),
        statuses={n['id']: statuses.get(n['id'], base.NodeStatus(True))
                  for n in watchdog.watched(nodes)},
        jobs=jobs or {}, labels={'default': LABEL} if labels is None
        else labels, deleting=set(deleting), cancels=cancels or {},
        now=NOW, clock=clock)


def _what(findings):
    return [(f.action, f.node['id'], f.reason) for f in findings]


def test_healthy_nodes_give_no_findings(dog):
    assert dog.findings(_seen(_node(states.NODE_READY),
                              _node(states.NODE_BOOTING))) == []


def test_a_node_created_by_its_driver_right_now_is_not_watched(dog):
    creating = _node(states.NODE_BOOTING, age=3600, external_id=None)
    assert watchdog.watched([creating]) == []
    assert dog.findings(_seen(creating)) == []


def test_a_late_boot_and_a_silent_node_fail(dog):
    late = _node(states.NODE_BOOTING, age=61)
    silent = _node(states.NODE_READY, silent=10 ** 4)
    assert _what(dog.findings(_seen(late, silent))) == [
        (watchdog.BOOT_FAILED, late['id'], 'node %s did not register within '
         '60 s (the label\'s boot_timeout)' % late['id']),
        (watchdog.NODE_FAILED, silent['id'], 'no heartbeat from node %s for '
         '10000 s' % silent['id'])]


def test_a_node_that_is_up_may_register_until_its_time(dog):
    late = _node(states.NODE_BOOTING, age=61)
    later = NOW + datetime.timedelta(seconds=5)
    up = {late['id']: base.NodeStatus(True, register_by=later)}
    assert dog.findings(_seen(late, statuses=up)) == []
    past = {late['id']: base.NodeStatus(
        True, register_by=NOW - datetime.timedelta(seconds=1))}
    [found] = dog.findings(_seen(late, statuses=past))
    assert 'is up but its agent did not register by' in found.reason


def test_a_dead_node_says_why_and_whether_the_cloud_was_full(dog):
    node = _node(states.NODE_BOOTING)
    dead = {node['id']: base.NodeStatus(False, 'no valid host',
                                        capacity=True)}
    [found] = dog.findings(_seen(node, statuses=dead))
    assert (found.action, found.reason, found.capacity) == (
        watchdog.BOOT_FAILED, 'no valid host', True)


def test_a_node_whose_label_left_the_pools_file_fails(dog):
    node = _node(states.NODE_BOOTING)
    [found] = dog.findings(_seen(node, labels={}))
    assert found.action == watchdog.BOOT_FAILED
    assert found.reason == ('its label default is no longer in the pools '
                            'file')
    job = {'label': 'default', 'wait_reason': None}
    assert 'not in this controller\'s pools file' in views.wait_reason(
        job, None, None, 0)


def test_held_and_deleting_nodes(dog):
    expired = _node(states.NODE_HELD, hold_until=NOW)
    kept = _node(states.NODE_HELD, id='kept',
                 hold_until=NOW + datetime.timedelta(hours=1))
    stuck = _node(states.NODE_DELETING)
    going = _node(states.NODE_DELETING, id='going')
    found = dog.findings(_seen(expired, kept, stuck, going,
                               deleting=['going']))
    assert _what(found) == [(watchdog.DESTROY, expired['id'], None),
                            (watchdog.DESTROY, stuck['id'], None)]


def _running(started_ago, state=states.RUNNING, node_id='n-in-use'):
    return {'id': 'j', 'state': state, 'spec': {'timeout': 60},
            'node_id': node_id,
            'started_at': NOW - datetime.timedelta(seconds=started_ago)}


def test_the_job_of_a_busy_node(dog):
    node = _node(states.NODE_IN_USE, job_id='j')
    assert dog.findings(_seen(node, jobs={'j': _running(1)})) == []
    [ended] = dog.findings(_seen(node, jobs={
        'j': _running(1, states.SUCCEEDED)}))
    assert ended.action == watchdog.RELEASE
    # A write failed half way: the node is in use, its job never ran
    # there (still queued, never started) or runs on another node.
    queued = dict(_running(1, states.QUEUED, None), started_at=None)
    for job in (queued, _running(1, node_id='other')):
        assert _what(dog.findings(_seen(node, jobs={'j': job}))) == [
            (watchdog.RELEASE, node['id'], None)]
    overrun = dog.findings(_seen(node, jobs={'j': _running(10 ** 5)}))
    assert _what(overrun)[0][:2] == (watchdog.NODE_FAILED, node['id'])
    assert 'did not report within' in overrun[0].reason
    grace = dog.conf.controller.cancel_grace
    asked = {node['id']: 1000.0}
    assert dog.findings(_seen(node, jobs={'j': _running(1)}, cancels=asked,
                              clock=1000.0 + grace - 1)) == []
    [overdue] = dog.findings(_seen(node, jobs={'j': _running(1)},
                                   cancels=asked, clock=1000.0 + grace + 1))
    assert (overdue.action, overdue.job['id']) == (watchdog.CANCEL_OVERDUE,
                                                   'j')
