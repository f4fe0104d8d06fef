"""Streaming a job's output to the controller in ordered, capped chunks."""

import codecs
import logging
import threading

LOG = logging.getLogger(__name__)

CHUNK_BYTES = 64 * 1024


class LogStream:
    """Collects output and sends it with ``send(seq, text)``.

    Chunks are numbered from 0 and sent one at a time, in order, from one
    thread. Output past ``max_bytes`` is dropped and a marker says so.
    Every occurrence of a ``secrets`` value is replaced by ``***`` before
    anything leaves the node.
    """

    def __init__(self, send, max_bytes, flush_interval, secrets=()):
        self._send = send
        self._secrets = sorted({s for s in secrets if s}, key=len,
                               reverse=True)
        # Text held back so that a secret split across two flushes is
        # still found whole.
        self._held = ''
        # Redacted text not sent yet (a failed send keeps it here).
        self._unsent = ''
        self._max_bytes = max_bytes
        self._interval = flush_interval
        self._decoder = codecs.getincrementaldecoder('utf-8')('replace')
        self._buf = bytearray()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self.seq = 0
        self.bytes_kept = 0
        self.bytes_dropped = 0
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    @property
    def truncated(self):
        return self.bytes_dropped > 0

    def write(self, data):
        if isinstance(data, str):
            data = data.encode()
        with self._lock:
            room = self._max_bytes - self.bytes_kept
            if len(data) > room:
                if not self.truncated:
                    self._buf += data[:room]
                    self._buf += (
                        b'\n[buildfarm] log truncated: output past %d bytes '
                        b'is not kept\n' % self._max_bytes)
                self.bytes_dropped += len(data) - max(room, 0)
                data = data[:max(room, 0)]
            else:
                self._buf += data
            self.bytes_kept += len(data)
            if len(self._buf) >= CHUNK_BYTES:
                self._wake.set()

    def note(self, text):
        """A line from buildfarm itself (not counted against the cap)."""
        with self._lock:
            self._buf += ('[buildfarm] %s\n' % text).encode()

    def _take(self, final=False):
        with self._lock:
            data, self._buf = bytes(self._buf), bytearray()
        return self._decoder.decode(data, final=final)

    def _redact(self, text, final):
        text = self._held + text
        for secret in self._secrets:
            text = text.replace(secret, '***')
        keep = 0 if final or not self._secrets else len(self._secrets[0]) - 1
        keep = min(keep, len(text))
        self._held = text[len(text) - keep:]
        return text[:len(text) - keep]

    def _flush(self, final=False):
        self._unsent += self._redact(self._take(final), final)
        while self._unsent:
            self._send(self.seq, self._unsent[:CHUNK_BYTES])
            self.seq += 1
            self._unsent = self._unsent[CHUNK_BYTES:]

    def _loop(self):
        while not self._closed:
            self._wake.wait(self._interval)
            self._wake.clear()
            if not self._closed:
                try:
                    self._flush()
                except Exception as e:
                    LOG.warning('Log chunk %d not sent yet (%s); it is sent '
                                'again with the next flush.', self.seq, e)

    def close(self):
        """Send everything still buffered; return once it is sent."""
        self._closed = True
        self._wake.set()
        self._thread.join()
        if self.truncated:
            self.note('%d bytes of output were dropped' % self.bytes_dropped)
        self._flush(final=True)
