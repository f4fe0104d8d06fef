"""What the job commands share: job columns, exit statuses, log following."""

import sys
import time

from buildfarm import objects
from buildfarm import states

PHASES = objects.PHASES
COLUMNS = ('id', 'kind', 'state', 'exit_code', 'commit', 'image_id',
           'reason', 'wait_reason', 'git_url', 'ref', 'cmd', 'image_name',
           'language_pack', 'timeout', 'label', 'attempt', 'node_id',
           'log_path', 'project_id', 'user_id', 'created_at', 'started_at',
           'finished_at') + PHASES

# Exit status of "run" and "job submit --wait".
EXIT_SUCCEEDED, EXIT_FAILED, EXIT_NOT_RUN = 0, 1, 2


def job_row(job):
    """A job as one row of COLUMNS; phase timings in seconds."""
    flat = dict(job, **job['spec'])
    timings = job.get('timings') or {}
    for phase in PHASES:
        value = timings.get(phase)
        flat[phase] = round(value, 3) if value is not None else None
    return tuple(flat.get(c) for c in COLUMNS)


def exit_status(job):
    if job['state'] == states.SUCCEEDED:
        return EXIT_SUCCEEDED
    if job['state'] == states.ERROR:
        return EXIT_NOT_RUN
    return EXIT_FAILED


def follow(api, job_id, out=None, interval=0.5):
    """Write the job's log to ``out`` until the job ended; return it."""
    out = out or sys.stderr
    offset = 0
    while True:
        chunk = api.get_log(job_id, offset)
        if chunk['data']:
            out.write(chunk['data'])
            out.flush()
        offset = chunk['offset']
        if chunk['finished']:
            return api.get_job(job_id)
        if not chunk['data']:
            time.sleep(interval)


def parse_env(pairs):
    env = {}
    for pair in pairs or []:
        name, sep, value = pair.partition('=')
        if not sep:
            raise ValueError('--env takes NAME=VALUE, got %r' % pair)
        env[name] = value
    return env


def read_secret(path, stdin=None):
    """The text of the file ``path``, or of standard input for "-": a
    secret given so stays out of the command line (and ``ps``)."""
    if path == '-':
        return (stdin or sys.stdin).read()
    try:
        with open(path) as f:
            return f.read()
    except OSError as e:
        raise ValueError('cannot read %s: %s' % (path, e.strerror))


def parse_env_file(text, source):
    """NAME=VALUE lines (blank lines and lines starting with # are
    skipped) as a mapping; an error names the line, never its value."""
    env = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith('#'):
            continue
        name, sep, value = line.partition('=')
        if not sep:
            raise ValueError('%s, line %d: not NAME=VALUE'
                             % (source, number))
        env[name.strip()] = value
    return env
