"""buildfarm pool list|show|set and node list|hold|delete."""

import re

from cliff import lister

from buildfarm.cli import job as job_cmd
from buildfarm.controller import rpcapi
from buildfarm import exception
from buildfarm import states

_POOL_COLUMNS = ('name', 'driver', 'min_ready', 'max_nodes',
                 'max_concurrent_boots', 'boot_timeout', 'queued_jobs')
_NODE_COLUMNS = ('id', 'label', 'state', 'job_id', 'external_id',
                 'created_at', 'ready_at', 'last_heartbeat', 'hold_until')
_UNITS = {'s': 1, 'm': 60, 'h': 3600, 'd': 86400}


def parse_duration(text):
    """'90', '90s', '30m', '2h' or '1d' -> seconds."""
    match = re.fullmatch(r'\s*(\d+)\s*([smhd]?)\s*', text or '')
    if not match:
        raise exception.BuildfarmError(
            '%r is not a duration: use a number of seconds or a number '
            'followed by s, m, h or d' % text)
    return int(match.group(1)) * _UNITS[match.group(2) or 's']


def _pool_row(pool):
    nodes = pool['nodes']
    return tuple(pool[c] for c in _POOL_COLUMNS) + tuple(
        nodes[s] for s in states.NODE_STATES)


def _pool_columns():
    return _POOL_COLUMNS + tuple('nodes_%s' % s.replace('-', '_')
                                 for s in states.NODE_STATES)


class ListPools(lister.Lister):
    """List pools: limits, nodes by state and queued jobs per label."""

    def take_action(self, parsed_args):
        pools = rpcapi.get_client(self.app.conf).pool_list()
        return _pool_columns(), [_pool_row(p) for p in pools]


class ShowPool(job_cmd.JobShowOne):
    """Show one label's pool."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('label')
        return parser

    def take_action(self, parsed_args):
        pool = rpcapi.get_client(self.app.conf).pool_show(parsed_args.label)
        return _pool_columns(), _pool_row(pool)


class SetPool(job_cmd.JobShowOne):
    """Change a label's pool at run time (kept across restarts)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('label')
        parser.add_argument('--min-ready', type=int,
                            help='idle registered nodes to keep waiting')
        parser.add_argument('--max-nodes', type=int,
                            help='most nodes of this label at once')
        return parser

    def take_action(self, parsed_args):
        pool = rpcapi.get_client(self.app.conf).pool_set(
            parsed_args.label, min_ready=parsed_args.min_ready,
            max_nodes=parsed_args.max_nodes)
        return _pool_columns(), _pool_row(pool)


class ListNodes(lister.Lister):
    """List live nodes."""

    def take_action(self, parsed_args):
        nodes = rpcapi.get_client(self.app.conf).node_list()
        return _NODE_COLUMNS, [tuple(n[c] for c in _NODE_COLUMNS)
                               for n in nodes]


class HoldNode(job_cmd.JobShowOne):
    """Keep a node (after its job ends) for debugging, for a while."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('node_id')
        parser.add_argument('--for', dest='duration', required=True,
                            metavar='DURATION',
                            help='how long: 90s, 30m, 2h, 1d')
        return parser

    def take_action(self, parsed_args):
        seconds = parse_duration(parsed_args.duration)
        api = rpcapi.get_client(self.app.conf)
        node = api.node_hold(parsed_args.node_id, seconds)
        return _NODE_COLUMNS, tuple(node[c] for c in _NODE_COLUMNS)


class DeleteNode(job_cmd.JobShowOne):
    """Destroy a node now; a job running on it is retried elsewhere."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('node_id')
        return parser

    def take_action(self, parsed_args):
        api = rpcapi.get_client(self.app.conf)
        node = api.node_delete(parsed_args.node_id)
        return _NODE_COLUMNS, tuple(node[c] for c in _NODE_COLUMNS)
