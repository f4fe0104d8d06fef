"""Rules of the operators' API: pools and nodes."""

from oslo_policy import policy

from buildfarm.policies import base


def _rule(kind, method, description):
    return policy.DocumentedRuleDefault(
        name='buildfarm:%s:%s' % (kind, method.partition('_')[2]),
        check_str=base.ADMIN_OR_OPERATOR, description=description,
        operations=base.rpc(method))


rules = [
    _rule('pool', 'pool_list', 'List the pools: limits, nodes by state, '
                               'queued jobs.'),
    _rule('pool', 'pool_show', 'Show one label\'s pool.'),
    _rule('pool', 'pool_set', 'Scale a pool (min_ready, max_nodes).'),
    _rule('node', 'node_list', 'List the live nodes.'),
    _rule('node', 'node_hold', 'Hold a node for debugging.'),
    _rule('node', 'node_delete', 'Destroy a node now.'),
]


def list_rules():
    return rules
