"""Language packs: Heroku-style buildpacks shipped by ``elements/lp-*``.

A pack is a directory with ``bin/detect BUILD_DIR`` (exit 0 and print the
pack's name on a match), ``bin/compile BUILD_DIR CACHE_DIR ENV_DIR`` and
``bin/release BUILD_DIR`` (YAML: ``config_vars``, ``default_process_types``).
A ``Procfile`` in the app wins over the pack's process types. This module
finds packs, picks the one for an app and reads what it releases; the
caller runs ``compile`` (a long command whose output is the job's log).
"""

import dataclasses
import os
import selectors
import shlex
import signal
import subprocess
import time

import yaml

from buildfarm.agent import jobfiles
from buildfarm import exception

_STEP_TIMEOUT = 60
# What the agent reads of a pack step's output and of the app's Procfile.
OUTPUT_LIMIT = 1024 * 1024
PROCFILE_LIMIT = 64 * 1024


@dataclasses.dataclass
class Pack:
    name: str
    path: str

    @property
    def version(self):
        """The pack's VERSION file, else "unversioned"."""
        try:
            with open(os.path.join(self.path, 'VERSION')) as f:
                return f.read().strip() or 'unversioned'
        except FileNotFoundError:
            return 'unversioned'

    def bin(self, script):
        return os.path.join(self.path, 'bin', script)

    def compile_command(self, build_dir, cache_dir, env_dir):
        return ' '.join(shlex.quote(arg) for arg in (
            self.bin('compile'), build_dir, cache_dir, env_dir))


def find_packs(packs_dir):
    """The packs under ``packs_dir``, by name."""
    try:
        names = sorted(os.listdir(packs_dir))
    except FileNotFoundError:
        names = []
    packs = [Pack(name, os.path.join(packs_dir, name)) for name in names]
    return [p for p in packs if os.access(p.bin('detect'), os.X_OK)]


def _owner(user):
    """The uid whose files the agent may read for ``user`` (None: the
    agent runs as the job's user already)."""
    return user.pw_uid if user is not None and os.geteuid() == 0 else None


def _stop(proc, reason):
    """Kill the step's process group and raise ImageBuildError(reason)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()
    raise exception.ImageBuildError(reason)


def _run(args, user=None, what='A pack step'):
    """Run a pack's script as ``user``; a CompletedProcess with its
    output as text. Output past OUTPUT_LIMIT, or running past
    _STEP_TIMEOUT, stops it (its whole process group) and is an
    ImageBuildError."""
    kwargs = {}
    if _owner(user) is not None:
        kwargs = {'user': user.pw_uid, 'group': user.pw_gid,
                  'extra_groups': []}
    deadline = time.monotonic() + _STEP_TIMEOUT
    too_long = '%s ran longer than %d s; it was stopped.' % (
        what, _STEP_TIMEOUT)
    # Not the agent's environment: the script is the job's user's.
    env = {'PATH': os.environ.get('PATH', os.defpath), 'LANG': 'C.UTF-8'}
    with subprocess.Popen(args, stdin=subprocess.DEVNULL, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          start_new_session=True, **kwargs) as proc, \
            selectors.DefaultSelector() as streams:
        output = {proc.stdout: bytearray(), proc.stderr: bytearray()}
        for stream in output:
            streams.register(stream, selectors.EVENT_READ)
        while streams.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                _stop(proc, too_long)
            for key, _ in streams.select(left):
                data = os.read(key.fd, 65536)
                if not data:
                    streams.unregister(key.fileobj)
                output[key.fileobj] += data
            if sum(len(v) for v in output.values()) > OUTPUT_LIMIT:
                _stop(proc, '%s printed more than %d KiB; it was stopped.'
                      % (what, OUTPUT_LIMIT // 1024))
        try:
            code = proc.wait(max(deadline - time.monotonic(), 0))
        except subprocess.TimeoutExpired:
            _stop(proc, too_long)
    return subprocess.CompletedProcess(
        args, code, *(output[s].decode(errors='replace')
                      for s in (proc.stdout, proc.stderr)))


def select(packs, app_dir, wanted=None, user=None):
    """Return (pack, warning): the pack named ``wanted``, else the first
    whose detect matches the app; ImageBuildError if there is none."""
    if wanted:
        for pack in packs:
            if pack.name == wanted:
                return pack, None
        raise exception.ImageBuildError(
            'No language pack named %r on this node; it has: %s.'
            % (wanted, ', '.join(p.name for p in packs) or 'none'))
    matches = [p for p in packs if _run(
        [p.bin('detect'), app_dir], user,
        'The %s pack\'s detect step' % p.name).returncode == 0]
    if not matches:
        raise exception.ImageBuildError(
            'No language pack recognises this app (tried: %s). Name one '
            'with --language-pack, or add the files a pack looks for.'
            % (', '.join(p.name for p in packs) or 'none'))
    warning = None
    if len(matches) > 1:
        warning = ('Several language packs recognise this app (%s); using '
                   '%s. Name one with --language-pack to choose.'
                   % (', '.join(p.name for p in matches), matches[0].name))
    return matches[0], warning


def _procfile(app_dir, user=None):
    """The process types of the app's Procfile, read safely: it is the
    job's, and the agent is root."""
    data = jobfiles.read_file(app_dir, 'Procfile', PROCFILE_LIMIT,
                              _owner(user), shown='The app\'s Procfile')
    types = {}
    for line in (data or b'').decode(errors='replace').splitlines():
        name, sep, command = line.partition(':')
        if sep and name.strip() and not name.startswith('#'):
            types[name.strip()] = command.strip()
    return types


def release(pack, app_dir, user=None):
    """{'config_vars': {...}, 'process_types': {...}} of the compiled app.

    The app's Procfile wins over the pack's default process types.
    """
    result = _run([pack.bin('release'), app_dir], user,
                  'The %s pack\'s release step' % pack.name)
    if result.returncode != 0:
        raise exception.ImageBuildError(
            'The %s pack\'s release step failed (exit status %d): %s'
            % (pack.name, result.returncode, result.stderr.strip()[-500:]))
    try:
        data = yaml.safe_load(result.stdout) or {}
        if not isinstance(data, dict):
            raise ValueError('not a mapping')
        config_vars = {str(k): str(v) for k, v in
                       (data.get('config_vars') or {}).items()}
        types = {str(k): str(v) for k, v in
                 (data.get('default_process_types') or {}).items()}
    except (yaml.YAMLError, ValueError, AttributeError) as e:
        raise exception.ImageBuildError(
            'The %s pack\'s release step printed malformed YAML (%s): %r'
            % (pack.name, e, result.stdout[:500]))
    types.update(_procfile(app_dir, user))
    return {'config_vars': config_vars, 'process_types': types}
