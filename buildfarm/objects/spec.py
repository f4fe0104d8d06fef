"""The job spec: its fields, declared once for every kind of job.

The validation's list of valid fields (``buildfarm.jobspec``), the
options of ``job submit`` and ``job submit-build`` and the inputs of the
Mistral job actions all come from the declaration of ``JobSpec``.
"""

import dataclasses

REPO_JOB = 'repo_job'
BUILD_IMAGE = 'build_image'
KINDS = (REPO_JOB, BUILD_IMAGE)
DEFAULT_TIMEOUT = 3600
_ALL = KINDS


@dataclasses.dataclass(frozen=True)
class SpecField:
    """One field of a job spec, as callers are offered it."""

    name: str
    # The kinds of job that have this field.
    kinds: tuple
    help: str
    # str, int, or dict (given as NAME=VALUE pairs on the command line);
    # the annotation of the field in JobSpec.
    type: type = str
    required: bool = False
    # Never stored by the farm. Mistral stores action inputs, so the
    # actions take no such field as an input.
    secret: bool = False
    metavar: str = None
    # The help of the command line option, where it takes the field in
    # another form than the API (NAME=VALUE pairs for a mapping).
    cli_help: str = None

    @property
    def flag(self):
        """The command line option."""
        return '--' + self.name.replace('_', '-')


def _field(kinds, help, secret=False, **options):
    # repr=False: a spec in a log line must not show a secret.
    return dataclasses.field(default=None, repr=not secret, metadata=dict(
        kinds=kinds, help=help, secret=secret, **options))


@dataclasses.dataclass
class JobSpec:
    """What to run: a job spec as the controller validated it
    (``buildfarm.jobspec.validate``). Only the fields of ``kind`` are
    part of it."""

    kind: str
    git_url: str = _field(
        _ALL, 'URL of the git repository to clone (required)',
        required=True)
    ref: str = _field(
        _ALL, 'branch, tag or commit sha (default: the remote HEAD)')
    timeout: int = _field(
        _ALL, 'seconds the command may run (default %d)' % DEFAULT_TIMEOUT)
    env: dict = _field(
        _ALL, 'environment variables for the command, as a mapping',
        metavar='NAME=VALUE',
        cli_help='environment variable for the command; may be repeated')
    secret_env: dict = _field(
        _ALL, 'environment variables whose values are never stored and '
        'are masked in the log, as a mapping', secret=True,
        metavar='NAME=VALUE',
        cli_help='like --env, but the value is never stored and is masked '
                 'in the log')
    label: str = _field(
        _ALL, 'label of the node to run on (default: the controller\'s)')
    cmd: str = _field(
        (REPO_JOB,), 'shell command to run in the checkout (required)',
        required=True)
    image_name: str = _field(
        (BUILD_IMAGE,), 'name of the image in Glance (required)',
        required=True)
    language_pack: str = _field(
        (BUILD_IMAGE,), 'language pack to build with (default: the first '
        'whose detect recognises the app)', metavar='NAME')
    token: str = _field(
        (BUILD_IMAGE,), 'token of the caller for the Image service; never '
        'stored (default: the controller\'s cloud)', secret=True)

    def to_dict(self):
        return {f.name: _copy(getattr(self, f.name))
                for f in spec_fields(self.kind)}

    @classmethod
    def from_dict(cls, kind, data):
        """The spec of a job of ``kind``; fields of other kinds in
        ``data`` are left out."""
        return cls(kind, **{f.name: _copy(data.get(f.name))
                            for f in spec_fields(kind)})


def _copy(value):
    return dict(value) if isinstance(value, dict) else value


_FIELDS = tuple(
    SpecField(name=f.name, type=f.type, **f.metadata)
    for f in dataclasses.fields(JobSpec) if f.name != 'kind')


def spec_fields(kind=None):
    """The fields of a spec of ``kind`` (of any kind if None), in the
    order of their declaration."""
    return tuple(f for f in _FIELDS if kind is None or kind in f.kinds)
