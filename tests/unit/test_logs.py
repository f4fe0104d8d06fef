import errno
import os
import time
from unittest import mock

import pytest

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


def test_store_bounds_what_a_node_can_make_it_keep(tmp_path):
    store = logstore.LogStore(str(tmp_path), max_bytes=4)
    # Far ahead of the chunks it waits for: not kept, even in memory.
    store.append('job', logstore.MAX_AHEAD, 'x')
    assert store._pending.get('job', {}) == {}
    for seq, text in enumerate(['ab', 'cd', 'ef', 'gh']):
        store.append('job', seq, text)
    store.note('job', 'job succeeded')
    text = store.read('job', 0, 1000)[0]
    # What fits, then one line saying the rest was dropped.
    assert text == 'abcd' + logstore.TRUNCATED % 4
    assert text.count('log truncated') == 1


def test_the_cap_cuts_between_characters_and_counts_notes(tmp_path):
    store = logstore.LogStore(str(tmp_path), max_bytes=20)
    store.note('job', 'attempt 1')      # 22 bytes: past the cap already
    store.append('job', 0, 'more')
    assert store.read('job', 0, 1000)[0] == (
        '[buildfarm] attempt ' + logstore.TRUNCATED % 20)
    store.append('other', 0, 'a' * 19 + 'é')   # 'é' would end at 21
    assert store.read('other', 0, 1000)[0] == (
        'a' * 19 + logstore.TRUNCATED % 20)


@pytest.mark.parametrize('errno_', [errno.ENOSPC, errno.EIO])
def test_a_failing_disk_loses_log_lines_not_the_caller(tmp_path, caplog,
                                                       errno_):
    store = logstore.LogStore(str(tmp_path))

    def failing_open(*args, **kwargs):
        raise OSError(errno_, os.strerror(errno_))

    with mock.patch('builtins.open', failing_open):
        store.note('job', 'attempt 1 on node n')
        store.append('job', 0, 'lost\n')
    store.append('job', 1, 'kept\n')   # chunk 0 counts as written
    assert store.read('job', 0, 100)[0] == 'kept\n'
    assert 'bytes of its log are lost' in caplog.text


def test_a_pruned_jobs_log_is_deleted(tmp_path):
    store = logstore.LogStore(str(tmp_path))
    store.append('job', 0, 'a')
    assert os.path.exists(store.path('job') + '.seq')
    assert store.delete('job') and store.delete('job')
    assert os.listdir(str(tmp_path)) == []


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


def test_a_secret_at_the_cut_leaves_no_prefix_behind():
    sent, send = _collect()
    secret = 'hunter2-token'
    log = logstream.LogStream(send, max_bytes=20, flush_interval=0.01,
                              secrets=[secret])
    # The cap falls inside the secret: raw bytes 0..19 end with "hunter2".
    log.write(b'0123456789abc' + secret.encode() + b' tail\n')
    log.close()
    text = ''.join(t for _, t in sent)
    assert 'hunt' not in text
    assert text.startswith('0123456789abc***')
    assert 'log truncated: output past 20 bytes' in text


def test_a_secret_split_across_writes_at_the_cut_is_masked():
    sent, send = _collect()
    log = logstream.LogStream(send, max_bytes=12, flush_interval=0.01,
                              secrets=['hunter2-token'])
    for piece in (b'0123456789hun', b'ter2-token and more\n'):
        log.write(piece)
        time.sleep(0.03)
    log.close()
    text = ''.join(t for _, t in sent)
    assert 'hun' not in text
    assert text.startswith('0123456789**\n[buildfarm] log truncated')


def test_a_secret_across_a_chunk_boundary_is_masked():
    sent, send = _collect()
    secret = 'hunter2-token'
    log = logstream.LogStream(send, max_bytes=10 ** 6, flush_interval=0.01,
                              secrets=[secret])
    filler = b"x" * (logstream.CHUNK_BYTES - 3)
    log.write(filler + secret.encode()[:7])
    log.write(secret.encode()[7:] + b'\n')
    log.close()
    assert len(sent) == 2
    text = ''.join(t for _, t in sent)
    assert 'hunt' not in text and 'token' not in text
    assert text == filler.decode() + '***\n'


def test_secrets_are_masked_as_utf8_bytes_and_in_notes():
    sent, send = _collect()
    log = logstream.LogStream(send, max_bytes=10 ** 6, flush_interval=0.01,
                              secrets=['pässwörd', b'raw-bytes-secret'])
    data = 'a pässwörd and raw-bytes-secret\n'.encode()
    for i in range(len(data)):   # one byte at a time: splits characters too
        log.write(data[i:i + 1])
    log.note('cloning https://u:pässwörd@host/repo')
    log.close()
    text = ''.join(t for _, t in sent)
    assert text == ('a *** and ***\n'
                    '[buildfarm] cloning https://u:***@host/repo\n')


def test_output_that_only_looks_like_a_secrets_start_is_not_held():
    sent, send = _collect()
    log = logstream.LogStream(send, max_bytes=10 ** 6, flush_interval=0.01,
                              secrets=['hunter2-token'])
    log.write(b'started\n')
    deadline = time.monotonic() + 5
    while not sent and time.monotonic() < deadline:
        time.sleep(0.01)
    assert ''.join(t for _, t in sent) == 'started\n'
    log.write(b'hunter')   # may be the secret: held until we know
    time.sleep(0.1)
    assert ''.join(t for _, t in sent) == 'started\n'
    log.write(b'2 is no secret\n')
    log.close()
    assert ''.join(t for _, t in sent) == 'started\nhunter2 is no secret\n'


def test_the_masker_keeps_only_what_may_begin_a_secret():
    masker = logstream.Masker(['abcdef', 'cd'])
    assert masker.feed(b'xxabc') == b'xx'
    assert masker.feed(b'dzz') == b'ab***zz'
    assert masker.feed(b'abcdefab') == b'***'
    assert masker.feed(b'', final=True) == b'ab'
