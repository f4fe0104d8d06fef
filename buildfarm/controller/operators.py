"""The operators' API: pools (limits, nodes by state, queued jobs) and
nodes (list, hold, delete)."""

import datetime
import logging

from buildfarm.controller import schemas
from buildfarm.controller import views
from buildfarm.db import api as db_api
from buildfarm import exception
from buildfarm import states

LOG = logging.getLogger(__name__)

MAX_HOLD = schemas.MAX_HOLD


class Operators:

    def __init__(self, store, pools, lifecycle):
        self.store = store
        self.pools = pools
        self.lifecycle = lifecycle

    def pool_list(self):
        live = self.store.live_nodes()
        queued = self.store.queued_counts()
        return [views.pool_view(label, live, queued)
                for label in self.pools.all()]

    def pool_show(self, label):
        name = self.pools.get(label).name
        return next(v for v in self.pool_list() if v['name'] == name)

    def pool_set(self, context, label, min_ready=None, max_nodes=None):
        """``context``: the operator's RequestContext, as are the other
        changes' (their logs say who)."""
        self.pools.set(label, min_ready=min_ready, max_nodes=max_nodes)
        LOG.info('Pool %s set by user %s: min_ready=%s max_nodes=%s', label,
                 context.user_id, min_ready, max_nodes)
        self.lifecycle.wake()
        return self.pool_show(label)

    def node_list(self):
        return [views.node_view(n) for n in self.store.live_nodes()]

    def _live_node(self, node_id):
        node = self.store.get_node(node_id)
        if node is None or node['state'] not in states.NODE_LIVE:
            raise exception.NodeNotFound('No live node with id %s.'
                                         % node_id)
        return node

    def node_hold(self, context, node_id, seconds):
        """Keep the node (after its job, if it runs one) for ``seconds``.

        An idle or held node becomes held; a busy or booting one keeps
        its state and is held once its job ends. Each is one conditional
        update: a node being deleted meanwhile stays deleted.
        """
        if not 0 < seconds <= MAX_HOLD:
            raise exception.BuildfarmError(
                'A hold lasts between 1 second and 7 days.')
        self._live_node(node_id)
        until = db_api.utcnow() + datetime.timedelta(seconds=seconds)
        node = (self.store.transition_node(
            node_id, states.NODE_HELD, [states.NODE_READY, states.NODE_HELD],
            hold_until=until) or self.store.update_node(
            node_id, [states.NODE_BOOTING, states.NODE_IN_USE],
            hold_until=until))
        if node is None:
            raise exception.NodeNotFound(
                'Node %s is being deleted; it cannot be held.' % node_id)
        LOG.info('Node %s held until %s by user %s.', node_id, until,
                 context.user_id)
        self.lifecycle.wake()
        return views.node_view(node)

    def node_delete(self, context, node_id):
        node = self._live_node(node_id)
        LOG.info('Node %s deleted by user %s.', node_id, context.user_id)
        self.lifecycle.node_failed(node, 'node %s was deleted by an operator'
                                   % node_id)
        self.lifecycle.wake()
        return views.node_view(self.store.get_node(node_id))
