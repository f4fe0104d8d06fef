"""buildfarm node list|hold|delete."""

import re

from buildfarm.cli import job as job_cmd
from buildfarm import exception

_COLUMNS = ('id', 'label', 'state', 'job_id', 'external_id', 'created_at',
            'ready_at', 'last_heartbeat', 'hold_until')
_UNITS = {'s': 1, 'm': 60, 'h': 3600, 'd': 86400}


def parse_duration(text):
    """'90', '90s', '30m', '2h' or '1d' -> seconds."""
    match = re.fullmatch(r'\s*(\d+)\s*([smhd]?)\s*', text or '')
    if not match:
        raise exception.BuildfarmError(
            '%r is not a duration: use a number of seconds or a number '
            'followed by s, m, h or d' % text)
    return int(match.group(1)) * _UNITS[match.group(2) or 's']


class ListNodes(job_cmd.ControllerLister):
    """List live nodes."""

    def take_action(self, parsed_args):
        nodes = self.app.client().node_list()
        return _COLUMNS, [tuple(n[c] for c in _COLUMNS) for n in nodes]


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
        api = self.app.client()
        node = api.node_hold(parsed_args.node_id, seconds)
        return _COLUMNS, tuple(node[c] for c in _COLUMNS)


class DeleteNode(job_cmd.JobShowOne):
    """Destroy a node now; a job running on it is retried elsewhere."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('node_id')
        return parser

    def take_action(self, parsed_args):
        api = self.app.client()
        node = api.node_delete(parsed_args.node_id)
        return _COLUMNS, tuple(node[c] for c in _COLUMNS)
