"""Streaming a job's output to the controller in ordered, capped chunks."""

import codecs
import logging
import threading

LOG = logging.getLogger(__name__)

CHUNK_BYTES = 64 * 1024
MASK = b'***'


class Masker:
    """Replaces every occurrence of the secrets in a byte stream by
    ``***``, also a secret split across two pieces of the stream.

    ``feed`` returns what is safe to pass on; the end of a piece that
    could be the start of a secret stays held until the next piece shows
    whether it is one (only as much as could be, so ordinary output is
    never held back).
    """

    def __init__(self, secrets):
        values = {s.encode() if isinstance(s, str) else bytes(s)
                  for s in secrets if s}
        # Longest first: a secret that contains another is masked whole.
        self._secrets = sorted(values, key=len, reverse=True)
        self._held = b''

    def feed(self, data, final=False):
        data = self._held + bytes(data)
        for secret in self._secrets:
            data = data.replace(secret, MASK)
        keep = 0 if final else self._partial_secret_at_end(data)
        self._held = data[len(data) - keep:]
        return data[:len(data) - keep]

    def _partial_secret_at_end(self, data):
        """The length of the longest end of ``data`` that begins a
        secret."""
        longest = 0
        for secret in self._secrets:
            for size in range(min(len(secret) - 1, len(data)), longest, -1):
                if data.endswith(secret[:size]):
                    longest = size
                    break
        return longest


class LogStream:
    """Collects output and sends it with ``send(seq, text)``.

    Every occurrence of a ``secrets`` value is replaced by ``***`` first,
    on the whole stream; only then is output past ``max_bytes`` (counted
    after masking) dropped, with a marker saying so, and the rest cut
    into chunks. Chunks are numbered from 0 and sent one at a time, in
    order, from one thread.
    """

    def __init__(self, send, max_bytes, flush_interval, secrets=()):
        self._send = send
        self._masker = Masker(secrets)
        # Masked text not sent yet (a failed send keeps it here).
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
            self._keep(self._masker.feed(data))
            if len(self._buf) >= CHUNK_BYTES:
                self._wake.set()

    def _keep(self, data):
        """Add masked output to the buffer, up to the cap."""
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

    def note(self, text):
        """A line from buildfarm itself (masked too, but not counted
        against the cap)."""
        with self._lock:
            # The note ends the output before it: a secret cannot span it.
            self._keep(self._masker.feed(b'', final=True))
            self._buf += self._masker.feed(
                ('[buildfarm] %s\n' % text).encode(), final=True)

    def _take(self, final=False):
        with self._lock:
            data, self._buf = bytes(self._buf), bytearray()
        return self._decoder.decode(data, final=final)

    def _flush(self, final=False):
        self._unsent += self._take(final)
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
        with self._lock:
            self._keep(self._masker.feed(b'', final=True))
        if self.truncated:
            self.note('%d bytes of output were dropped' % self.bytes_dropped)
        self._flush(final=True)
