"""What callers and operators see of jobs, nodes and pools: JSON
primitives only."""

from buildfarm import states


def _iso(value):
    return value.isoformat() + 'Z' if value is not None else None


def node_view(node):
    view = dict(node)
    for key in ('created_at', 'ready_at', 'last_heartbeat', 'hold_until',
                'deleted_at'):
        view[key] = _iso(view[key])
    return view


def job_view(job, wait_reason=None):
    """A job; ``wait_reason``, for a queued job, says why it waits."""
    view = dict(job)
    for key in ('created_at', 'updated_at', 'started_at', 'finished_at',
                'callback_sent_at'):
        view[key] = _iso(view[key])
    if job['state'] == states.QUEUED:
        view['wait_reason'] = wait_reason
    return view


def wait_reason(job, label, paused_because, live):
    """Why a queued job waits. ``label``: the job's Label, None if the
    pools file no longer has it; ``paused_because``: why boots of it are
    paused, if they are; ``live``: its pool's live nodes."""
    if label is None:
        return ('waiting: its label %s is not in this controller\'s pools '
                'file; add it back or cancel the job' % job['label'])
    if paused_because:
        reason = 'waiting: %s' % paused_because
    elif live >= label.max_nodes:
        reason = ('waiting: pool %s is at max_nodes (%d of %d nodes in use); '
                  'jobs run in order of submission'
                  % (label.name, live, label.max_nodes))
    else:
        reason = 'waiting for a node of %s to boot' % label.name
    if job['wait_reason']:
        reason += ' (%s)' % job['wait_reason']
    return reason


def pool_view(label, live_nodes, queued):
    """A label's limits, its nodes by state, its queued jobs."""
    view = label.view()
    view['nodes'] = {s: 0 for s in states.NODE_STATES}
    for node in live_nodes:
        if node['label'] == label.name:
            view['nodes'][node['state']] += 1
    view['queued_jobs'] = queued.get(label.name, 0)
    return view
