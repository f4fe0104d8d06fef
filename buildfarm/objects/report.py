"""The report: how a job ended, as its agent tells the controller
(``NodeCallbackAPI.report``), and the phases a job's time is split in."""

import dataclasses

from buildfarm import states

# Timed by the agent, in the order they run (a repo_job has clone and
# run, a build_image job clone, compile, assemble and upload).
AGENT_PHASES = ('clone', 'run', 'compile', 'assemble', 'upload')
# Timed by the controller: the wait for a node, its boot, its agent's
# start, and what is left of the job's time after the agent's phases.
CONTROLLER_PHASES = ('queued', 'node_boot', 'agent_ready', 'report')
# All of them, in the order a job goes through them.
PHASES = CONTROLLER_PHASES[:3] + AGENT_PHASES + CONTROLLER_PHASES[3:]

INVALID = 'The agent sent an invalid report.'


@dataclasses.dataclass
class Report:
    """How a job ended. A new report says the job could not run (ERROR)
    until the agent knows better."""

    state: str = states.ERROR
    exit_code: int = None
    # The commit the job ran on.
    commit: str = None
    # Why the job did not succeed, in words its submitter can act on.
    reason: str = None
    # Seconds per phase, of AGENT_PHASES.
    timings: dict = dataclasses.field(default_factory=dict)
    # The Glance image a build_image job made.
    image_id: str = None

    def record(self, phase, seconds):
        """Note the seconds ``phase`` (one of AGENT_PHASES) took."""
        if phase not in AGENT_PHASES:
            raise ValueError('%r is not a phase the agent times; those '
                             'are %s.' % (phase, ', '.join(AGENT_PHASES)))
        self.timings[phase] = seconds

    def to_dict(self):
        data = {'state': self.state, 'exit_code': self.exit_code,
                'commit': self.commit, 'reason': self.reason,
                'timings': dict(self.timings)}
        if self.image_id is not None:
            data['image_id'] = self.image_id
        return data

    @classmethod
    def from_dict(cls, data):
        """The report an agent sent, checked (a node may be hostile): a
        report without a terminal state, or with a field of the wrong
        type or size, is an error of the job (INVALID); timings are kept
        for AGENT_PHASES only, in seconds as floats."""
        try:
            report = cls(exit_code=_optional(data, 'exit_code', int),
                         commit=_optional(data, 'commit', str, 64),
                         reason=(_optional(data, 'reason', str) or
                                 None) and data['reason'][:MAX_REASON],
                         image_id=_optional(data, 'image_id', str, 255),
                         timings=_timings(data.get('timings') or {}))
        except (TypeError, ValueError, AttributeError):
            return cls(reason=INVALID)
        if data.get('state') in states.TERMINAL:
            report.state = data['state']
        else:
            report.reason = INVALID
        return report


MAX_REASON = 4096


def _optional(data, name, kind, max_length=None):
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, kind) or isinstance(value, bool) or (
            max_length is not None and len(value) > max_length):
        raise ValueError(name)
    return value


def _timings(timings):
    checked = {}
    for phase, seconds in timings.items():
        if phase not in AGENT_PHASES:
            continue
        if isinstance(seconds, bool) or not isinstance(
                seconds, (int, float)) or not 0 <= seconds < 10 ** 7:
            raise ValueError(phase)
        checked[phase] = float(seconds)
    return checked
