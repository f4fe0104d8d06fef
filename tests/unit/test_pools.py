import pytest

from buildfarm.controller import pools
from buildfarm import exception

POOLS = """
labels:
  - name: small
    driver: docker
    min-ready: 1
    max-nodes: 3
    docker:
      image: worker:small
      memory_limit: 512m
  - name: big
    driver: docker
    max-nodes: 2
    boot-timeout: 600
"""


def _pools(conf, tmp_path, store, text):
    path = tmp_path / 'pools.yaml'
    path.write_text(text)
    conf.set_override('pools_file', str(path), 'controller')
    return pools.Pools(conf, store)


def test_labels_come_from_the_pools_file(conf, tmp_path, store):
    p = _pools(conf, tmp_path, store, POOLS)
    small, big = p.get('small'), p.get('big')
    assert (small.min_ready, small.max_nodes, small.settings) == (
        1, 3, {'image': 'worker:small', 'memory_limit': '512m'})
    assert (big.min_ready, big.max_nodes, big.boot_timeout) == (0, 2, 600)
    assert big.max_concurrent_boots == conf.controller.max_concurrent_boots
    assert p.get().name == 'small'   # the first label is the default
    assert p.drivers() == ['docker']


def test_run_time_changes_are_stored_over_the_file(conf, tmp_path, store):
    _pools(conf, tmp_path, store, POOLS).set('big', min_ready=2)
    again = _pools(conf, tmp_path, store, POOLS)
    assert (again.get('big').min_ready, again.get('big').max_nodes) == (2, 2)


@pytest.mark.parametrize('text,message', [
    ('labels:\n  - name: x\n    driver: docker\n    colour: red\n',
     'unknown key\\(s\\) colour'),
    ('labels:\n  - name: x\n', 'needs a name and a driver'),
    ('labels: []\n', 'defines no label'),
    ('labels:\n  - name: x\n    driver: docker\n    min-ready: 5\n'
     '    max-nodes: 2\n', 'min_ready \\(5\\) must be between'),
    ('labels: [', 'Cannot read pools file'),
])
def test_a_bad_pools_file_is_refused_with_a_reason(conf, tmp_path, store,
                                                   text, message):
    with pytest.raises(exception.InvalidPool, match=message):
        _pools(conf, tmp_path, store, text)


@pytest.mark.parametrize('text,message', [
    ('labels:\n  - name: x\n    driver: docker\n    min-ready: two\n',
     "min_ready must be a whole number, got 'two'"),
    ('labels:\n  - name: x\n    driver: docker\n    max-nodes: 2.5\n',
     'max_nodes must be a whole number, got 2.5'),
    ('labels:\n  - name: big nodes\n    driver: docker\n',
     "label name 'big nodes' is not a label"),
])
def test_a_pools_file_value_of_the_wrong_type_is_refused(
        conf, tmp_path, store, text, message):
    with pytest.raises(exception.InvalidPool, match=message):
        _pools(conf, tmp_path, store, text)


@pytest.mark.parametrize('values', [
    {'min_ready': 0.5}, {'max_nodes': 2.5}, {'min_ready': 'x'},
    {'min_ready': 3, 'max_nodes': 2}])
def test_a_bad_stored_change_is_ignored_with_a_warning(
        conf, tmp_path, store, caplog, values):
    # As an older controller stored it: it took any value (SQLite keeps
    # what its integer column cannot convert).
    store.set_pool('big', **values)
    p = _pools(conf, tmp_path, store, POOLS)
    assert (p.get('big').min_ready, p.get('big').max_nodes) == (0, 2)
    assert 'Ignoring the stored change of pool big' in caplog.text
    # A good change replaces it.
    p.set('big', min_ready=1, max_nodes=2)
    again = _pools(conf, tmp_path, store, POOLS)
    assert (again.get('big').min_ready, again.get('big').max_nodes) == (1, 2)


@pytest.mark.parametrize('values', [
    {'min_ready': 0.5}, {'max_nodes': '2'}, {'min_ready': False}])
def test_a_run_time_change_of_the_wrong_type_is_refused(conf, tmp_path,
                                                        store, values):
    p = _pools(conf, tmp_path, store, POOLS)
    with pytest.raises(exception.InvalidPool, match='must be a whole number'):
        p.set('big', **values)
    assert store.pool_overrides() == {}
