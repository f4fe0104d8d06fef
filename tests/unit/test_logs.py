import time

from buildfarm.agent import logstream
from buildfarm.controller import logstore


def _collect():
    sent = []
    return sent, lambda seq, text: sent.append((seq, text))


def test_chunks_are_numbered_in_order_and_complete():
    sent, send = _collect()
    log = logstream.LogStream(send, max_bytes=10 ** 6, flush_interval=0.01)
    for i in range(200):
        log.write(b'line %d\n' % i)
    log.close()
    assert [seq for seq, _ in sent] == list(range(len(sent)))
    assert ''.join(t for _, t in sent) == ''.join(
        'line %d\n' % i for i in range(200))
    assert not log.truncated


def test_a_chunk_whose_send_failed_is_sent_again_in_order():
    sent = []
    failures = [RuntimeError("can't start new thread")]

    def send(seq, text):
        if failures:
            raise failures.pop()
        sent.append((seq, text))

    log = logstream.LogStream(send, max_bytes=10 ** 6, flush_interval=0.01)
    log.write(b'first\n')
    time.sleep(0.1)
    log.write(b'second\n')
    log.close()
    assert not failures
    assert [seq for seq, _ in sent] == list(range(len(sent)))
    assert ''.join(t for _, t in sent) == 'first\nsecond\n'


def test_output_past_the_cap_is_dropped_with_a_marker():
    sent, send = _collect()
    log = logstream.LogStream(send, max_bytes=1000, flush_interval=0.01)
    for _ in range(100):
        log.write(b'x' * 100)
    log.close()
    text = ''.join(t for _, t in sent)
    assert text.count('x') == 1000
    assert 'log truncated: output past 1000 bytes is not kept' in text
    assert '9000 bytes of output were dropped' in text
    assert log.bytes_kept == 1000 and log.bytes_dropped == 9000


def test_a_character_split_across_writes_survives():
    sent, send = _collect()
    log = logstream.LogStream(send, max_bytes=10 ** 6, flush_interval=0.01)
    data = 'héllo wörld\n'.encode()
    for i in range(len(data)):
        log.write(data[i:i + 1])
    log.close()
    assert ''.join(t for _, t in sent) == 'héllo wörld\n'


def test_store_writes_chunks_in_order_once(tmp_path):
    store = logstore.LogStore(str(tmp_path))
    store.append('job', 1, 'b')
    store.append('job', 0, 'a')
    store.append('job', 0, 'a')   # a resend
    store.append('job', 2, 'c')
    text, offset, at_end = store.read('job', 0, 100)
    assert (text, offset, at_end) == ('abc', 3, True)


def test_store_reads_never_split_a_character(tmp_path):
    store = logstore.LogStore(str(tmp_path))
    store.append('job', 0, 'aé')   # 'é' is two bytes
    text, offset, at_end = store.read('job', 0, 2)
    assert (text, offset, at_end) == ('a', 1, False)
    assert store.read('job', offset, 10) == ('é', 3, True)


def test_secret_values_are_masked_even_when_split_across_writes():
    sent, send = _collect()
    log = logstream.LogStream(send, max_bytes=10 ** 6, flush_interval=0.01,
                              secrets=['hunter2-token'])
    for piece in (b'token=hunt', b'er2-to', b'ken and again hunter2-token\n'):
        log.write(piece)
        time.sleep(0.03)   # let each piece be flushed on its own
    log.close()
    text = ''.join(t for _, t in sent)
    assert 'hunter2' not in text
    assert text == 'token=*** and again ***\n'
