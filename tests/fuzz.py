"""Hypothesis strategies for the arguments of every caller and operator
RPC method, and the check of each answer; the unit and the functional
fuzz tests share them.

Each argument is drawn from good values (ids of jobs and nodes that
exist, the label, small numbers, valid specs) or bad ones (wrong types,
huge numbers, control characters, nested junk); sometimes a required
argument is left out or an unknown one added.
"""

import inspect
import json
import uuid

from hypothesis import strategies as st

from buildfarm.controller import manager
from buildfarm.controller import schemas
from buildfarm import exception

METHODS = sorted(
    name for name, _ in inspect.getmembers(manager.ControllerManager,
                                           inspect.isfunction)
    if not name.startswith('_'))

_NASTY = ['', '\x00', 'a\x00b', 'a\nb', '\r\n', '-', '--upload-pack=x',
          '../x', '%00', ' ', '\u202e', '\udcff', '\ud800', 'é' * 20,
          'x' * 70000, 'NaN', '0x10', '1e3', '60', '0.5', 'true']
scalars = (st.none() | st.booleans() |
           st.integers() | st.floats() | st.text(max_size=40) |
           st.sampled_from(_NASTY))
junk = st.recursive(
    scalars, lambda children: (st.lists(children, max_size=4) |
                               st.dictionaries(st.text(max_size=8),
                                               children, max_size=4)),
    max_leaves=12)
huge = st.sampled_from([-1, -2 ** 63, 2 ** 63, 10 ** 9, 10 ** 30,
                        1e308, float('inf'), float('nan'), 0.5, True])
bad = junk | huge | st.sampled_from(_NASTY)


def _spec(kind_fields):
    text = st.text(max_size=20) | st.sampled_from(_NASTY)
    good = {
        'git_url': st.sampled_from([
            'https://example.com/repo.git', 'git://127.0.0.1:1/x',
            'file:///nonexistent', 'user@host:repo', 'https://u:p@h/r',
            'https://h/r\n', 'file:///a%00b', 'ftp://h/r']) | text,
        'cmd': st.sampled_from(['true', 'echo $HOME', 'x\x00']) | text,
        'ref': st.sampled_from(['main', 'v1', '-x', 'a..b']) | text,
        'timeout': st.integers(-5, 10 ** 7) | st.sampled_from(['60', 'x']),
        'env': st.dictionaries(text, text, max_size=3),
        'secret_env': st.dictionaries(text, text, max_size=3),
        'label': st.sampled_from(['default', 'gpu']) | text,
        'image_name': text, 'language_pack': text, 'token': text,
    }
    fields = {name: good[name] | bad for name in kind_fields}
    return st.fixed_dictionaries({}, optional=fields) | bad


def arguments(method, job_ids, node_ids):
    """A strategy of keyword arguments for ``method``; ``job_ids`` and
    ``node_ids``: ids that exist (lists, read when drawn)."""
    some_job = st.uuids().map(str) | _existing(job_ids)
    some_node = st.uuids().map(str) | _existing(node_ids)
    states = st.sampled_from(['queued', 'running', 'succeeded', 'error'])
    good = {
        'spec': _spec(['git_url', 'cmd', 'ref', 'timeout', 'env',
                       'secret_env', 'label', 'image_name',
                       'language_pack', 'token']),
        'idempotency_key': st.text(max_size=20) | st.sampled_from(_NASTY),
        'callback': st.fixed_dictionaries({
            'mistral_action_execution_id': some_job}),
        'job_id': some_job, 'marker': some_job, 'node_id': some_node,
        'state': states | st.lists(states, max_size=3),
        'limit': st.integers(1, 1000), 'all_projects': st.booleans(),
        'offset': st.integers(0, 10 ** 6), 'length': st.integers(1, 10 ** 6),
        'label': st.sampled_from(['default', 'gpu']),
        'min_ready': st.integers(0, 3), 'max_nodes': st.integers(1, 4),
        'seconds': st.integers(1, 100),
    }
    # The schema's properties are the method's parameters (a unit test
    # of the schemas makes sure).
    params = list(getattr(schemas, method)['properties'])
    return st.fixed_dictionaries(
        {}, optional={name: good[name] | bad for name in params}) | (
        st.fixed_dictionaries(
            {name: good[name] for name in params},
            optional={'unknown': junk}))


def _existing(ids):
    # What is drawn is an index, not the id: the ids change as the
    # controller works, and Hypothesis replays what it drew.
    return st.integers(0, 19).map(
        lambda i: ids[i % len(ids)] if ids else str(uuid.UUID(int=i)))


def check_error(error):
    """A clear buildfarm error: its class crosses RPC, its message is a
    sentence, not a traceback."""
    assert isinstance(error, exception.BuildfarmError), repr(error)
    # Over RPC, str() has the controller's traceback after the message
    # (oslo.messaging): callers show the message.
    message = error.message
    assert message and 'Traceback' not in message, message
    assert len(message) < 2000, message[:300]


def check_result(result):
    """What crosses the wire is JSON."""
    json.dumps(result)
