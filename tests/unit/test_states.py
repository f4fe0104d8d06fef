"""The state tables and the store's transitions: the only way a job's or
a node's state changes."""

import itertools

import pytest
import sqlalchemy as sa

from buildfarm.common import context
from buildfarm.controller import operators
from buildfarm.db import models
from buildfarm import exception
from buildfarm import states

JOB_STATES = sorted(states.ACTIVE | states.TERMINAL)
NODE_STATES = sorted(states.NODE_LIVE | {states.NODE_DELETED,
                                         states.NODE_FAILED})


def _force(store, model, row_id, state):
    """Put a row in ``state`` behind the store's back (test set-up)."""
    with store.engine.begin() as connection:
        connection.execute(sa.update(model).where(model.id == row_id)
                           .values(state=state))


def test_the_tables_name_only_known_states():
    for table, known in ((states.JOB_TRANSITIONS, JOB_STATES),
                         (states.NODE_TRANSITIONS, NODE_STATES)):
        for source, targets in table.items():
            assert source in known
            assert targets <= set(known)
    # Terminal states are left by no transition.
    assert not states.TERMINAL & set(states.JOB_TRANSITIONS)
    assert {states.NODE_DELETED, states.NODE_FAILED}.isdisjoint(
        states.NODE_TRANSITIONS)


@pytest.mark.parametrize('source,target',
                         itertools.product(JOB_STATES, JOB_STATES))
def test_a_job_moves_exactly_as_its_table_allows(store, source, target):
    store.create_job('j', 'repo_job', 'default', {}, '/l')
    _force(store, models.Job, 'j', source)
    moved = store.transition_job('j', target, exit_code=3)
    allowed = target in states.JOB_TRANSITIONS.get(source, ())
    assert (moved is not None) == allowed
    job = store.get_job('j')
    assert job['state'] == (target if allowed else source)
    assert job['exit_code'] == (3 if allowed else None)
    assert (job['finished_at'] is not None) == (
        allowed and target in states.TERMINAL)


@pytest.mark.parametrize('source,target',
                         itertools.product(NODE_STATES, NODE_STATES))
def test_a_node_moves_exactly_as_its_table_allows(store, source, target):
    store.create_node('n', 'fake', 'default')
    _force(store, models.Node, 'n', source)
    moved = store.transition_node('n', target, external_id='x')
    allowed = target in states.NODE_TRANSITIONS.get(source, ())
    assert (moved is not None) == allowed
    node = store.get_node('n')
    assert node['state'] == (target if allowed else source)
    assert node['external_id'] == ('x' if allowed else None)


def test_a_transition_can_be_narrowed_to_some_sources(store):
    store.create_job('j', 'repo_job', 'default', {}, '/l')
    assert store.transition_job('j', states.CANCELLED,
                                [states.RUNNING]) is None
    assert store.transition_job('j', states.CANCELLED, [states.QUEUED])


def test_states_change_only_by_transitions(store):
    store.create_job('j', 'repo_job', 'default', {}, '/l')
    store.create_node('n', 'fake', 'default')
    with pytest.raises(ValueError, match='transition_job'):
        store.update_job('j', state=states.RUNNING)
    with pytest.raises(ValueError, match='transition_node'):
        store.update_node('n', state=states.NODE_READY)


class _Lifecycle:
    def wake(self):
        pass


def test_a_hold_never_brings_back_a_node_being_deleted(store):
    """node_hold used to read a node's state, then write a state computed
    from it: a deletion in between was undone."""
    store.create_node('n', 'fake', 'default')
    store.transition_node('n', states.NODE_READY)
    ops = operators.Operators(store, pools=None, lifecycle=_Lifecycle())
    read = store.get_node

    def read_then_deleted(node_id):
        node = read(node_id)   # READY when read...
        store.get_node = read
        store.transition_node(node_id, states.NODE_DELETING)  # ...not now
        return node
    store.get_node = read_then_deleted
    with pytest.raises(exception.NodeNotFound, match='being deleted'):
        ops.node_hold(context.RequestContext(), 'n', 60)
    node = store.get_node('n')
    assert (node['state'], node['hold_until']) == (states.NODE_DELETING,
                                                   None)


@pytest.mark.parametrize('state,held', [
    (states.NODE_READY, states.NODE_HELD),
    (states.NODE_HELD, states.NODE_HELD),
    (states.NODE_IN_USE, states.NODE_IN_USE),    # held once its job ends
    (states.NODE_BOOTING, states.NODE_BOOTING),
])
def test_a_hold_holds_idle_nodes_and_marks_busy_ones(store, state, held):
    store.create_node('n', 'fake', 'default')
    _force(store, models.Node, 'n', state)
    ops = operators.Operators(store, pools=None, lifecycle=_Lifecycle())
    view = ops.node_hold(context.RequestContext(), 'n', 60)
    assert view['state'] == held
    assert view['hold_until'] is not None
