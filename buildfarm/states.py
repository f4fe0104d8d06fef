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
