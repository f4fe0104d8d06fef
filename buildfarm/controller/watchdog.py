"""The watchdog: finds nodes that are dead, late, silent or unneeded.

A pure detector: given the live nodes, what their drivers say of them,
the jobs they run, the labels and the time, it returns findings; it
changes nothing. The lifecycle acts on them. A booting node past its
label's boot_timeout, or one whose driver says it is gone, failed its
boot; a busy node that died, stopped heartbeating or overran its job's
deadline fails its job's attempt; a held node goes when its hold
expires.
"""

import dataclasses
import datetime

from buildfarm import states

# What to do about a node.
DESTROY = 'destroy'                # no longer needed, or its delete failed
RELEASE = 'release'                # its job ended
BOOT_FAILED = 'boot_failed'        # it never became ready
NODE_FAILED = 'node_failed'        # dead or silent while in use
CANCEL_OVERDUE = 'cancel_overdue'  # its agent did not confirm a cancel


@dataclasses.dataclass
class Finding:
    action: str
    node: dict
    # In words an operator can act on (BOOT_FAILED, NODE_FAILED).
    reason: str = None
    # The cloud lacked room for the node: jobs wait rather than fail.
    capacity: bool = False
    job: dict = None


@dataclasses.dataclass
class Observation:
    """What the watchdog looks at, taken at one moment."""

    nodes: list          # live node rows
    statuses: dict       # node id -> NodeStatus, for watched(nodes)
    jobs: dict           # job id -> row, of the nodes in use
    labels: dict         # name -> pools.Label
    deleting: set        # ids of nodes whose deletion is under way
    cancels: dict        # node id -> monotonic time its cancel was sent
    now: datetime.datetime   # naive UTC, as in the database
    clock: float             # time.monotonic() at the same moment


def watched(nodes):
    """The nodes whose drivers are asked about them (not those being
    deleted, held, or still being created by their driver)."""
    return [n for n in nodes
            if n['state'] not in (states.NODE_DELETING, states.NODE_HELD)
            and (n['state'] != states.NODE_BOOTING or n['external_id'])]


class Watchdog:

    def __init__(self, conf):
        self.conf = conf

    def findings(self, seen):
        """[Finding] for the nodes of ``seen`` (an Observation)."""
        found = []
        for node in seen.nodes:
            state = node['state']
            if state == states.NODE_DELETING:
                if node['id'] not in seen.deleting:
                    found.append(Finding(DESTROY, node))
            elif state == states.NODE_HELD:
                if node['hold_until'] is None or (
                        node['hold_until'] <= seen.now):
                    found.append(Finding(DESTROY, node))
        for node in watched(seen.nodes):
            finding = self._node_problem(node, seen)
            if finding is None and node['state'] == states.NODE_IN_USE:
                finding = self._job_problem(node, seen)
            if finding is not None:
                found.append(finding)
        return found

    def _node_problem(self, node, seen):
        status = seen.statuses[node['id']]
        booting = node['state'] == states.NODE_BOOTING
        failed = BOOT_FAILED if booting else NODE_FAILED
        label = seen.labels.get(node['label'])
        if label is None:
            return Finding(failed, node, 'its label %s is no longer in the '
                           'pools file' % node['label'])
        if not status.alive:
            return Finding(failed, node, status.reason,
                           capacity=status.capacity)
        if booting:
            return self._late(node, label, status, seen.now)
        silent = (seen.now - node['last_heartbeat']).total_seconds()
        if silent > self.conf.controller.heartbeat_timeout:
            return Finding(failed, node, 'no heartbeat from node %s for %d s'
                           % (node['id'], silent))
        return None

    @staticmethod
    def _late(node, label, status, now):
        """A BOOT_FAILED finding if the booting node is past its time."""
        age = (now - node['created_at']).total_seconds()
        if age <= label.boot_timeout:
            return None
        if status.register_by is None:
            return Finding(BOOT_FAILED, node, (
                'node %s did not register within %d s (the label\'s '
                'boot_timeout)' % (node['id'], label.boot_timeout)))
        if now > status.register_by:
            return Finding(BOOT_FAILED, node, (
                'node %s is up but its agent did not register by %s UTC'
                % (node['id'], status.register_by.isoformat(' ',
                                                            'seconds'))))
        return None

    def _job_problem(self, node, seen):
        job = seen.jobs[node['job_id']]
        if job['state'] != states.RUNNING or job['node_id'] != node['id']:
            # It ended, or a write failed half way and it never ran here.
            return Finding(RELEASE, node, job=job)
        deadline = self.run_deadline(job)
        if (seen.now - job['started_at']).total_seconds() > deadline:
            return Finding(NODE_FAILED, node, (
                'node %s did not report within %d s of starting the job'
                % (node['id'], deadline)))
        asked = seen.cancels.get(node['id'])
        if asked and seen.clock - asked > self.conf.controller.cancel_grace:
            return Finding(CANCEL_OVERDUE, node, job=job)
        return None

    def run_deadline(self, job):
        """Seconds from a job's start by which its agent must report."""
        conf = self.conf
        return (job['spec']['timeout'] + conf.agent.clone_timeout +
                2 * conf.agent.kill_grace + conf.controller.cancel_grace)
