"""Cloning a repository at a ref with GitPython, shallow where possible.

Credentials in an http(s) URL never reach the checkout: git gets the URL
without them and the credentials as an Authorization header through its
environment alone (``GIT_CONFIG_*``), so neither ``.git/config`` nor
FETCH_HEAD nor the reflog holds them.
"""

import re
import urllib.parse

import git

from buildfarm import exception
from buildfarm import jobspec
from buildfarm.objects import message

_SHA = re.compile(r'^[0-9a-f]{7,40}$')
_CREDENTIALS = re.compile(r'(://)[^/@\s]+@')


def split_credentials(url):
    """(the URL without credentials, git configuration that sends them).

    The header is sent to the URL's host alone, and redirects are not
    followed, so that no other host ever gets it. Elsewhere than http(s)
    only a password is dropped (ssh logs in as the URL's user).
    """
    parsed = urllib.parse.urlsplit(url)
    userinfo, at, host = parsed.netloc.rpartition('@')
    if not at:
        return url, {}
    credentials = message.url_credentials(url)
    user = '' if credentials else userinfo.partition(':')[0] + '@'
    clean = urllib.parse.urlunsplit(parsed._replace(netloc=user + host))
    if not credentials:
        return clean, {}
    site = '%s://%s/' % (parsed.scheme, host)
    return clean, {
        'http.%s.extraHeader' % site:
            'Authorization: ' + message.basic_authorization(*credentials),
        'http.%s.followRedirects' % site: 'false'}


def _git_env(extra_env, config=None):
    env = dict(extra_env or {})
    # Never ask for credentials on a terminal nobody watches.
    env['GIT_TERMINAL_PROMPT'] = '0'
    # Repositories served read-only to the node belong to another user.
    config = dict({'safe.directory': '*'}, **(config or {}))
    env['GIT_CONFIG_COUNT'] = str(len(config))
    for i, (key, value) in enumerate(config.items()):
        env['GIT_CONFIG_KEY_%d' % i] = key
        env['GIT_CONFIG_VALUE_%d' % i] = value
    return env


def _first_line(error):
    """The part of git's message that says what went wrong, without any
    credentials git may have echoed from the URL."""
    text = (getattr(error, 'stderr', '') or str(error)).strip()
    text = _CREDENTIALS.sub(r'\1***@', text)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    lines = [ln.removeprefix("stderr: '").rstrip("'") for ln in lines]
    starts = [i for i, ln in enumerate(lines)
              if ln.startswith(('fatal:', 'error:'))]
    if starts:
        return ' '.join(lines[starts[-1]:])
    return lines[-1] if lines else 'unknown error'


def _diagnose(cmd, url, shown, wanted, error):
    """Why a fetch failed, in words a person can act on; ``shown`` is
    the URL as the reason may show it."""
    try:
        refs = cmd.ls_remote(url)
    except git.GitCommandError as e:
        return 'Cannot reach repository %s: %s' % (shown, _first_line(e))
    names = {line.split('\t')[1] for line in refs.splitlines()
             if '\t' in line}
    if _SHA.match(wanted):
        return 'Commit %s not found in %s.' % (wanted, shown)
    if not ({wanted, 'refs/heads/' + wanted, 'refs/tags/' + wanted}
            & names):
        return ('Ref %r not found in %s: it is neither a branch, a tag nor '
                'a commit sha.' % (wanted, shown))
    return 'Cannot fetch %r from %s: %s' % (wanted, shown,
                                            _first_line(error))


def _clone_branch(url, ref, dest, timeout, env):
    options = {'depth': 1, 'single_branch': True, 'no_tags': True}
    if ref:
        options['branch'] = ref
    return git.Repo.clone_from(url, dest, env=env, multi_options=[],
                               kill_after_timeout=timeout, **options)


def _fetch_commit(url, sha, dest, timeout, env):
    repo = git.Repo.init(dest)
    repo.git.update_environment(**env)
    repo.create_remote('origin', url)
    try:
        repo.git.fetch('origin', sha, depth=1, no_tags=True,
                       kill_after_timeout=timeout)
        repo.git.checkout('--detach', 'FETCH_HEAD')
    except git.GitCommandError:
        # Servers that refuse a sha in "want" (or an abbreviated sha) need
        # the full history to find the commit.
        repo.git.fetch('origin', kill_after_timeout=timeout)
        repo.git.checkout('--detach', sha)
    return repo


def clone(url, ref, dest, timeout, env=None):
    """Clone ``url`` at ``ref`` into ``dest``; return the commit sha.

    ``ref`` may be a branch, a tag or a commit sha; None means the remote's
    HEAD. The usual case is one shallow ``git clone``; only when it fails
    is the remote asked why. Raises CloneError with a reason a person can
    act on.
    """
    shown = jobspec.redact_url(url)
    url, credentials = split_credentials(url)
    env = _git_env(env, credentials)
    try:
        if ref and _SHA.match(ref):
            repo = _fetch_commit(url, ref, dest, timeout, env)
        else:
            repo = _clone_branch(url, ref, dest, timeout, env)
    except git.GitCommandError as e:
        cmd = git.cmd.Git()
        cmd.update_environment(**env)
        raise exception.CloneError(
            _diagnose(cmd, url, shown, ref or 'HEAD', e))
    return repo.head.commit.hexsha
