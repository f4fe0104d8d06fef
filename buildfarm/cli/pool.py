"""buildfarm pool list|show|set."""

from buildfarm.cli import job as job_cmd
from buildfarm import states

_POOL_COLUMNS = ('name', 'driver', 'min_ready', 'max_nodes',
                 'max_concurrent_boots', 'boot_timeout', 'queued_jobs')


def _pool_row(pool):
    nodes = pool['nodes']
    return tuple(pool[c] for c in _POOL_COLUMNS) + tuple(
        nodes[s] for s in states.NODE_STATES)


def _pool_columns():
    return _POOL_COLUMNS + tuple('nodes_%s' % s.replace('-', '_')
                                 for s in states.NODE_STATES)


class ListPools(job_cmd.ControllerLister):
    """List pools: limits, nodes by state and queued jobs per label."""

    def take_action(self, parsed_args):
        pools = self.app.client().pool_list()
        return _pool_columns(), [_pool_row(p) for p in pools]


class ShowPool(job_cmd.JobShowOne):
    """Show one label's pool."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('label')
        return parser

    def take_action(self, parsed_args):
        pool = self.app.client().pool_show(parsed_args.label)
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
        pool = self.app.client().pool_set(
            parsed_args.label, min_ready=parsed_args.min_ready,
            max_nodes=parsed_args.max_nodes)
        return _pool_columns(), _pool_row(pool)
