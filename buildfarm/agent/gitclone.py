"""Cloning a repository at a ref with GitPython, shallow where possible."""

import os
import re

import git

from buildfarm import exception
from buildfarm import jobspec

_SHA = re.compile(r'^[0-9a-f]{7,40}$')


def _git_env(extra_env):
    env = dict(extra_env or {})
    # Never ask for credentials on a terminal nobody watches.
    env['GIT_TERMINAL_PROMPT'] = '0'
    # Repositories served read-only to the node belong to another user.
    env.update({'GIT_CONFIG_COUNT': '1',
                'GIT_CONFIG_KEY_0': 'safe.directory',
                'GIT_CONFIG_VALUE_0': '*'})
    return env


def _first_line(error):
    text = (getattr(error, 'stderr', '') or str(error)).strip()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    lines = [ln.removeprefix("stderr: '").rstrip("'") for ln in lines]
    starts = [i for i, ln in enumerate(lines)
              if ln.startswith(('fatal:', 'error:'))]
    if starts:
        return ' '.join(lines[starts[-1]:])
    return lines[-1] if lines else 'unknown error'


def clone(url, ref, dest, timeout, env=None):
    """Clone ``url`` at ``ref`` into ``dest``; return the commit sha.

    ``ref`` may be a branch, a tag or a commit sha; None means the remote's
    HEAD. Raises CloneError with a reason a person can act on.
    """
    shown = jobspec.redact_url(url)
    env = _git_env(env)
    cmd = git.cmd.Git()
    cmd.update_environment(**env)
    try:
        refs = cmd.ls_remote(url, kill_after_timeout=timeout)
    except git.GitCommandError as e:
        raise exception.CloneError(
            'Cannot reach repository %s: %s' % (shown, _first_line(e)))
    names = {line.split('\t')[1] for line in refs.splitlines() if '\t' in line}
    wanted = ref or 'HEAD'
    known = wanted in names or any(
        n in names for n in ('refs/heads/' + wanted, 'refs/tags/' + wanted))
    if not known and not _SHA.match(wanted):
        raise exception.CloneError(
            'Ref %r not found in %s: it is neither a branch, a tag nor a '
            'commit sha.' % (wanted, shown))

    os.makedirs(dest, exist_ok=True)
    repo = git.Repo.init(dest)
    repo.git.update_environment(**env)
    repo.create_remote('origin', url)
    try:
        repo.git.fetch('origin', wanted, depth=1, no_tags=True,
                       kill_after_timeout=timeout)
    except git.GitCommandError as first:
        if not _SHA.match(wanted):
            raise exception.CloneError('Cannot fetch %r from %s: %s' % (
                wanted, shown, _first_line(first)))
        # Servers that refuse a sha in "want" (or an abbreviated sha) need
        # the full history to find the commit.
        try:
            repo.git.fetch('origin', kill_after_timeout=timeout)
        except git.GitCommandError as e:
            raise exception.CloneError('Cannot fetch from %s: %s' % (
                shown, _first_line(e)))
        try:
            repo.git.checkout('--detach', wanted)
        except git.GitCommandError:
            raise exception.CloneError(
                'Commit %s not found in %s.' % (wanted, shown))
    else:
        repo.git.checkout('--detach', 'FETCH_HEAD')
    return repo.head.commit.hexsha
