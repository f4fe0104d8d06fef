"""Job and node states."""

# Jobs
QUEUED = 'queued'
BOOTING = 'booting'
RUNNING = 'running'
SUCCEEDED = 'succeeded'   # the command exited 0
FAILED = 'failed'         # the command exited non-zero
TIMED_OUT = 'timed_out'   # the command ran past the job's timeout
CANCELLED = 'cancelled'
ERROR = 'error'           # the job could not run: bad ref, dead node...

TERMINAL = frozenset([SUCCEEDED, FAILED, TIMED_OUT, CANCELLED, ERROR])
ACTIVE = frozenset([QUEUED, BOOTING, RUNNING])

# Nodes
NODE_BOOTING = 'booting'
NODE_READY = 'ready'
NODE_IN_USE = 'in-use'
NODE_DELETING = 'deleting'
NODE_DELETED = 'deleted'
NODE_LIVE = frozenset([NODE_BOOTING, NODE_READY, NODE_IN_USE, NODE_DELETING])
