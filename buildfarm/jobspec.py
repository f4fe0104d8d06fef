"""Validation of job specifications, shared by the CLI and the controller."""

import os
import re
import urllib.parse

from buildfarm import exception
from buildfarm import objects

# The kinds and the field list live with JobSpec; the names stay here too
# for the callers of the validation.
REPO_JOB = objects.REPO_JOB
BUILD_IMAGE = objects.BUILD_IMAGE
DEFAULT_TIMEOUT = objects.DEFAULT_TIMEOUT
MAX_TIMEOUT = 7 * 24 * 3600
_HIDDEN = '***'

_FIELDS = {kind: {f.name: f.help for f in objects.spec_fields(kind)}
           for kind in objects.KINDS}
_URL_SCHEMES = ('https', 'http', 'git', 'ssh', 'file')
# \Z, not $: "$" also matches before a final newline.
_SCP_LIKE = re.compile(r'^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^/\s]\S*\Z')
_ENV_NAME = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*\Z')
_REF = re.compile(r'^[A-Za-z0-9._/@+-]+\Z')
_PACK = re.compile(r'^[a-z0-9][a-z0-9._-]*\Z')


def _invalid(message):
    raise exception.InvalidJobSpec(message)


def validate_git_url(url):
    if not isinstance(url, str) or not url.strip():
        _invalid('git_url is required: give the URL of a git repository.')
    if _SCP_LIKE.match(url):
        return url
    try:
        parsed = urllib.parse.urlsplit(url)
        parsed.port  # noqa: B018 - raises on a port out of range
    except ValueError as e:
        _invalid('git_url is not a valid URL: %s.' % e)
    if parsed.scheme not in _URL_SCHEMES:
        _invalid('git_url %r is not a git URL: use %s or user@host:path.'
                 % (redact_url(url),
                    ', '.join(s + '://' for s in _URL_SCHEMES)))
    if parsed.scheme == 'file':
        if parsed.netloc or not parsed.path.startswith('/') or any(
                ord(c) < 32 or c == '\x7f'
                for c in urllib.parse.unquote(parsed.path)):
            _invalid('git_url %r is not a valid file URL: use '
                     'file:///absolute/path (no control characters).'
                     % url)
    elif not parsed.hostname or not parsed.path.strip('/'):
        _invalid('git_url %r is not a git URL: it needs a host and a '
                 'repository path.' % redact_url(url))
    return url


def redact_url(url):
    """The URL without any password or token in it."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.password is None and not (parsed.username and
                                        parsed.scheme in ('http', 'https')):
        return url
    host = parsed.hostname or ''
    if parsed.port:
        host += ':%d' % parsed.port
    return urllib.parse.urlunsplit(
        (parsed.scheme, '***@' + host, parsed.path, parsed.query,
         parsed.fragment))


def local_repo_path(url):
    """The host path of a file:// URL, or None for a remote URL."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme != 'file':
        return None
    return os.path.normpath(urllib.parse.unquote(parsed.path))


def _check_fields(kind, spec):
    fields = _FIELDS[kind]
    if not isinstance(spec, dict):
        _invalid('A %s spec must be a mapping of fields; valid fields: %s.'
                 % (kind, ', '.join(sorted(fields))))
    unknown = sorted(set(spec) - set(fields))
    if unknown:
        _invalid('Unknown field(s) %s. Valid fields: %s.' % (
            ', '.join(unknown), '; '.join(
                '%s: %s' % item for item in sorted(fields.items()))))


def validate_repo_job(spec):
    """Return a normalised copy of a repo_job spec or raise InvalidJobSpec."""
    _check_fields(REPO_JOB, spec)
    cmd = spec.get('cmd')
    if not isinstance(cmd, str) or not cmd.strip():
        _invalid('cmd is required and must not be empty: give the shell '
                 'command to run in the checkout, for example "tox".')
    return dict(_validate_common(spec), cmd=cmd)


def validate_build_image(spec):
    """Return a normalised copy of a build_image spec or raise
    InvalidJobSpec."""
    _check_fields(BUILD_IMAGE, spec)
    name = spec.get('image_name')
    if not isinstance(name, str) or not name.strip() or len(name) > 255:
        _invalid('image_name is required: give the name the image gets in '
                 'Glance (at most 255 characters).')
    pack = spec.get('language_pack') or None
    if pack is not None and (not isinstance(pack, str)
                             or not _PACK.match(pack)):
        _invalid('language_pack %r is not the name of a language pack '
                 '(for example "python").' % (pack,))
    token = spec.get('token') or None
    if token is not None and not isinstance(token, str):
        _invalid('token must be a string.')
    return dict(_validate_common(spec), image_name=name,
                language_pack=pack, token=token)


def validate(kind, spec):
    if kind == REPO_JOB:
        return validate_repo_job(spec)
    if kind == BUILD_IMAGE:
        return validate_build_image(spec)
    _invalid('Unknown job kind %r: use %s or %s.'
             % (kind, REPO_JOB, BUILD_IMAGE))


def _validate_common(spec):
    git_url = validate_git_url(spec.get('git_url'))
    ref = spec.get('ref') or None
    if ref is not None and (not isinstance(ref, str) or not _REF.match(ref)
                            or ref.startswith('-') or '..' in ref):
        _invalid('ref %r is not a valid branch, tag or commit sha.' % (ref,))
    timeout = spec.get('timeout', DEFAULT_TIMEOUT)
    if isinstance(timeout, str):
        try:
            timeout = int(timeout)
        except ValueError:
            pass
    if (isinstance(timeout, bool) or not isinstance(timeout, int)
            or not 0 < timeout <= MAX_TIMEOUT):
        _invalid('timeout must be a whole number of seconds between 1 and '
                 '%d, got %r.' % (MAX_TIMEOUT, timeout))
    env = _validate_env('env', spec.get('env'))
    secret_env = _validate_env('secret_env', spec.get('secret_env'))
    label = spec.get('label') or None
    if label is not None and not isinstance(label, str):
        _invalid('label must be the name of a label.')
    return {'git_url': git_url, 'ref': ref, 'timeout': timeout,
            'env': env, 'secret_env': secret_env, 'label': label}


def _validate_env(field, env):
    env = env or {}
    if not isinstance(env, dict):
        _invalid('%s must be a mapping of variable names to values.'
                 % field)
    for name, value in env.items():
        if not isinstance(name, str) or not _ENV_NAME.match(name):
            _invalid('%s: %r is not a valid variable name.' % (field, name))
        if not isinstance(value, str):
            _invalid('%s: the value of %s must be a string.' % (field, name))
    return dict(env)


def stored_spec(spec):
    """What the job store keeps of a spec: no credentials, no secret."""
    stored = dict(spec, git_url=redact_url(spec['git_url']),
                  secret_env={name: _HIDDEN for name in spec['secret_env']})
    if spec.get('token'):
        stored['token'] = _HIDDEN
    return stored


def has_secrets(spec):
    """Does the spec hold what the store does not keep?"""
    return stored_spec(spec) != spec


def lost_secrets(stored):
    """Did the store leave out something of this stored spec that the job
    needs (credentials, secret_env, token)?"""
    return ('%s@' % _HIDDEN in stored['git_url'] or
            bool(stored.get('secret_env')) or bool(stored.get('token')))
