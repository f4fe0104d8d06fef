"""Job logs on the controller's disk, one file a job, written in order.

Writing a log is best effort: a full or failing disk (ENOSPC, EIO) loses
log lines, logged as a warning, and never the job's state or report.
"""

import logging
import os
import threading

LOG = logging.getLogger(__name__)

# Chunks kept waiting for an earlier one: agents send in order and resend
# what was not acknowledged, so more would only be a node filling memory.
MAX_AHEAD = 64
TRUNCATED = ('\n[buildfarm] log truncated: the controller keeps at most %d '
             'bytes of a job\'s log ([controller] max_log_bytes_per_job)\n')


class LogStore:

    def __init__(self, directory, max_bytes=None):
        """``max_bytes``: what is written past this size of a job's log
        (chunks and notes alike) is dropped, leaving one "log truncated"
        line (agents cap their output; a hostile node may not)."""
        self.directory = directory
        self.max_bytes = max_bytes
        os.makedirs(directory, mode=0o750, exist_ok=True)
        self._lock = threading.Lock()
        self._next_seq = {}
        self._pending = {}

    def path(self, job_id):
        return os.path.join(self.directory, '%s.log' % job_id)

    def _write(self, job_id, text):
        """Append ``text`` within the cap; False if the disk failed."""
        data = text.encode('utf-8')
        try:
            with open(self.path(job_id), 'ab') as f:
                size = os.fstat(f.fileno()).st_size
                cap = self.max_bytes
                if cap is not None and size + len(data) > cap:
                    if size > cap:
                        return True  # truncated already: the line is there
                    # What fits, not splitting a character, then the line.
                    head = data[:cap - size].decode('utf-8', 'ignore')
                    data = (head + TRUNCATED % cap).encode('utf-8')
                f.write(data)
            return True
        except OSError as e:
            LOG.warning('Job %s: %d bytes of its log are lost: cannot write '
                        '%s (%s).', job_id, len(data), self.path(job_id), e)
            return False

    def _seq_path(self, job_id):
        return self.path(job_id) + '.seq'

    def _expected(self, job_id):
        # After a restart, the next chunk number comes from the side file.
        if job_id not in self._next_seq:
            try:
                with open(self._seq_path(job_id)) as f:
                    self._next_seq[job_id] = int(f.read() or 0)
            except (OSError, ValueError):
                self._next_seq[job_id] = 0
        return self._next_seq[job_id]

    def append(self, job_id, seq, text):
        """Store chunk ``seq``; chunks are written in sequence order and a
        chunk seen twice (a resend) is written once. A chunk the disk
        refuses is lost, not retried: the agent's report must not wait
        behind it."""
        with self._lock:
            expected = self._expected(job_id)
            if not expected <= seq < expected + MAX_AHEAD:
                return
            pending = self._pending.setdefault(job_id, {})
            pending[seq] = text
            while expected in pending:
                self._write(job_id, pending.pop(expected))
                expected += 1
            self._next_seq[job_id] = expected
            try:
                with open(self._seq_path(job_id), 'w') as f:
                    f.write(str(expected))
            except OSError as e:
                # Only a restart needs it: chunks resent then are dropped
                # or written twice.
                LOG.warning('Job %s: cannot record its next log chunk '
                            '(%s).', job_id, e)

    def note(self, job_id, text):
        """A line from the controller itself (best effort)."""
        with self._lock:
            self._write(job_id, '[buildfarm] %s\n' % text)

    def forget(self, job_id):
        """The job's chunks are all in (it ended, or its next attempt
        numbers its chunks from 0 again)."""
        with self._lock:
            self._next_seq.pop(job_id, None)
            self._pending.pop(job_id, None)
            self._unlink(self._seq_path(job_id))

    def delete(self, job_id):
        """Remove the job's log (the job is pruned); False if it could
        not be removed."""
        with self._lock:
            self._next_seq.pop(job_id, None)
            self._pending.pop(job_id, None)
            return (self._unlink(self._seq_path(job_id)) and
                    self._unlink(self.path(job_id)))

    @staticmethod
    def _unlink(path):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        except OSError as e:
            LOG.warning('Cannot remove %s: %s', path, e)
            return False
        return True

    def read(self, job_id, offset, length):
        """Return (text, next_offset, at_end) from byte ``offset``."""
        try:
            with open(self.path(job_id), 'rb') as f:
                size = os.fstat(f.fileno()).st_size
                f.seek(offset)
                data = f.read(length)
        except FileNotFoundError:
            return '', offset, True
        # Do not split a character: the rest comes with the next read.
        text = data.decode('utf-8', errors='ignore')
        offset += len(text.encode('utf-8'))
        return text, offset, offset >= size
