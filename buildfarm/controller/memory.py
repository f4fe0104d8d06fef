"""What the controller keeps in memory only: one home for each kind.

Everything else about jobs and nodes is in the database. What is here is
either never to be stored (secrets) or only worth having while this
process runs (a cancel waiting for its confirmation, a pause of boots
after a failure, the nonces of recent agent messages).
"""

import threading
import time

from buildfarm.common import auth


class SecretSpecs:
    """Full specs of queued jobs whose stored spec lacks something secret
    (credentials in the git URL, secret_env, a token), until they end."""

    def __init__(self):
        self._specs = {}

    def keep(self, job_id, spec):
        self._specs[job_id] = spec

    def get(self, job_id, stored_spec):
        """The job's full spec, else its stored one."""
        return self._specs.get(job_id, stored_spec)

    def forget(self, job_id):
        self._specs.pop(job_id, None)


class CancelRequests:
    """node id -> monotonic time a cancel was sent to its job."""

    def __init__(self):
        self._lock = threading.Lock()
        self._asked = {}

    def asked(self, node_id):
        with self._lock:
            self._asked.setdefault(node_id, time.monotonic())

    def snapshot(self):
        with self._lock:
            return dict(self._asked)

    def forget(self, node_id):
        with self._lock:
            self._asked.pop(node_id, None)


class BootPauses:
    """Per label: boots wait until a time after a failed boot (longer
    after each failure in a row) or a quota error."""

    def __init__(self):
        self._lock = threading.Lock()
        self._until = {}     # label -> (monotonic time, why)
        self._failures = {}  # label -> failed boots in a row

    def pause(self, label, seconds, why):
        with self._lock:
            self._until[label] = (time.monotonic() + seconds, why)

    def failed(self, label):
        """Count a failed boot of ``label``; return the failures in a
        row."""
        with self._lock:
            self._failures[label] = self._failures.get(label, 0) + 1
            return self._failures[label]

    def succeeded(self, label):
        with self._lock:
            self._failures.pop(label, None)

    def why(self, label):
        """Why boots of ``label`` are paused now, or None."""
        with self._lock:
            until, why = self._until.get(label, (0, None))
        return why if until > time.monotonic() else None

    def clear(self):
        """Boots resume at once (for operators and tests)."""
        with self._lock:
            self._until.clear()


class Memory:
    """All of it, for the parts of the controller that share it."""

    def __init__(self):
        self.secrets = SecretSpecs()
        self.cancels = CancelRequests()
        self.pauses = BootPauses()
        # Nonces of the agent messages taken lately: a replay is dropped.
        self.nonces = auth.ReplayGuard()
