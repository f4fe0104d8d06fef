"""Job and node states."""

# Jobs
QUEUED = 'queued'         # waiting for a node (job show says why)
RUNNING = 'running'       # dispatched to a node
SUCCEEDED = 'succeeded'   # the command exited 0
FAILED = 'failed'         # the command exited non-zero
TIMED_OUT = 'timed_out'   # the command ran past the job's timeout
CANCELLED = 'cancelled'
ERROR = 'error'           # the job could not run: bad ref, dead nodes...

TERMINAL = frozenset([SUCCEEDED, FAILED, TIMED_OUT, CANCELLED, ERROR])
ACTIVE = frozenset([QUEUED, RUNNING])

# Nodes
NODE_BOOTING = 'booting'    # created; its agent has not registered yet
NODE_READY = 'ready'        # registered and idle
NODE_IN_USE = 'in-use'      # running a job
NODE_HELD = 'held'          # kept for debugging until its hold expires
NODE_DELETING = 'deleting'
NODE_DELETED = 'deleted'
NODE_FAILED = 'failed'      # never became ready; its resources are gone
NODE_LIVE = frozenset([NODE_BOOTING, NODE_READY, NODE_IN_USE, NODE_HELD,
                       NODE_DELETING])
NODE_STATES = (NODE_BOOTING, NODE_READY, NODE_IN_USE, NODE_DELETING,
               NODE_HELD, NODE_FAILED)

# The only state changes there are: {from: {to, ...}}. db.api's
# transition_job and transition_node apply them, each as one conditional
# UPDATE, so that of two writers racing for a row exactly one wins.
JOB_TRANSITIONS = {
    # Given to a node; ended before it started (cancelled, or it could not
    # be handed over).
    QUEUED: frozenset([RUNNING, CANCELLED, ERROR]),
    # Its node failed: back in the queue for a fresh node, or ended.
    RUNNING: frozenset([QUEUED]) | TERMINAL,
}
NODE_TRANSITIONS = {
    # Its agent registered (idle, or with the job it was booted for); its
    # driver could not create it; it is destroyed.
    NODE_BOOTING: frozenset([NODE_READY, NODE_IN_USE, NODE_FAILED,
                             NODE_DELETING]),
    NODE_READY: frozenset([NODE_IN_USE, NODE_HELD, NODE_DELETING]),
    # Back to ready when its job was cancelled before it was handed over;
    # held after its job when an operator asked.
    NODE_IN_USE: frozenset([NODE_READY, NODE_HELD, NODE_DELETING]),
    # Held again: the hold is extended.
    NODE_HELD: frozenset([NODE_HELD, NODE_DELETING]),
    # Deleting again: the driver's last attempt failed.
    NODE_DELETING: frozenset([NODE_DELETING, NODE_DELETED]),
}


def sources(transitions, to_state):
    """The states from which ``to_state`` may be entered."""
    return frozenset(s for s, targets in transitions.items()
                     if to_state in targets)
