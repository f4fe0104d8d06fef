"""Job logs on the controller's disk, one file a job, written in order."""

import os
import threading


# Chunks kept waiting for an earlier one: agents send in order and resend
# what was not acknowledged, so more would only be a node filling memory.
MAX_AHEAD = 64


class LogStore:

    def __init__(self, directory, max_bytes=None):
        """``max_bytes``: chunks past this size of a job's log are
        dropped (agents cap their output; a hostile node may not)."""
        self.directory = directory
        self.max_bytes = max_bytes
        os.makedirs(directory, mode=0o750, exist_ok=True)
        self._lock = threading.Lock()
        self._next_seq = {}
        self._pending = {}

    def path(self, job_id):
        return os.path.join(self.directory, '%s.log' % job_id)

    def _write(self, job_id, text):
        with open(self.path(job_id), 'a', encoding='utf-8') as f:
            f.write(text)

    def _full(self, job_id):
        try:
            return self.max_bytes is not None and os.path.getsize(
                self.path(job_id)) >= self.max_bytes
        except OSError:
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
        chunk seen twice (a resend) is written once."""
        with self._lock:
            expected = self._expected(job_id)
            if not expected <= seq < expected + MAX_AHEAD:
                return
            pending = self._pending.setdefault(job_id, {})
            pending[seq] = text
            while expected in pending:
                text = pending.pop(expected)
                if not self._full(job_id):
                    self._write(job_id, text)
                expected += 1
            self._next_seq[job_id] = expected
            with open(self._seq_path(job_id), 'w') as f:
                f.write(str(expected))

    def note(self, job_id, text):
        """A line from the controller itself."""
        with self._lock:
            self._write(job_id, '[buildfarm] %s\n' % text)

    def forget(self, job_id):
        """The job's chunks are all in (it ended, or its next attempt
        numbers its chunks from 0 again)."""
        with self._lock:
            self._next_seq.pop(job_id, None)
            self._pending.pop(job_id, None)
            try:
                os.unlink(self._seq_path(job_id))
            except FileNotFoundError:
                pass

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
