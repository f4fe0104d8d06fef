"""The job message: what the controller hands an agent to run
(``AgentAPI.run_job``, or ``[agent] boot_job`` for the node booted for
the job)."""

import base64
import dataclasses
import urllib.parse

from buildfarm.objects import spec as spec_mod

_HTTP = ('http', 'https')


def url_credentials(url):
    """(user, password) in an http(s) URL, decoded (password '' when the
    URL has a user alone, as in https://TOKEN@host/repo); None when it
    has none."""
    parsed = urllib.parse.urlsplit(url or '')
    if parsed.scheme not in _HTTP or not parsed.username:
        return None
    return (urllib.parse.unquote(parsed.username),
            urllib.parse.unquote(parsed.password or ''))


def basic_authorization(user, password):
    """The value of an HTTP Basic Authorization header."""
    pair = ('%s:%s' % (user, password)).encode()
    return 'Basic ' + base64.b64encode(pair).decode()


def _url_secrets(url):
    """Everything of a git URL's credentials a log or an image could show:
    as written, decoded, and as the header git sends them in. The user
    is a secret only when it comes alone (then it is the token)."""
    parsed = urllib.parse.urlsplit(url or '')
    found = []
    if parsed.password:
        found += [parsed.password, urllib.parse.unquote(parsed.password)]
    credentials = url_credentials(url)
    if credentials:
        user, password = credentials
        if not password:
            found += [parsed.username, user]
        found.append(basic_authorization(user, password).split()[1])
    return found


@dataclasses.dataclass
class UploadTarget:
    """Where a build_image job's node uploads its image, and with what
    token (the caller's own, or one the controller minted for this upload
    alone; never the cloud's credentials)."""

    endpoint: str
    token: str = dataclasses.field(default=None, repr=False)
    # Tries of the upload before the job fails.
    attempts: int = 1
    # Largest image the node may upload, in bytes.
    max_bytes: int = None
    # The port the app listens on in the image ($PORT).
    port: int = None
    # The image the controller created for the upload (minted token):
    # the node fills it instead of creating one.
    image_id: str = None

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data):
        return cls(**{f.name: data[f.name]
                      for f in dataclasses.fields(cls) if f.name in data})


@dataclasses.dataclass
class JobMessage:
    """One job as its agent gets it. ``spec`` and ``upload`` may be given
    as dicts: they are made objects."""

    id: str
    kind: str
    # With every secret in it: the message goes to the node alone.
    spec: spec_mod.JobSpec = dataclasses.field(repr=False)
    # build_image jobs only.
    upload: UploadTarget = None

    def __post_init__(self):
        if isinstance(self.spec, dict):
            self.spec = spec_mod.JobSpec.from_dict(self.kind, self.spec)
        if isinstance(self.upload, dict):
            self.upload = UploadTarget.from_dict(self.upload)

    def secrets(self):
        """The values the job's log and image must never show: its
        secret_env values, its tokens and its git URL's credentials."""
        found = list((self.spec.secret_env or {}).values())
        for token in (self.spec.token, self.upload and self.upload.token):
            if token:
                found.append(token)
        found += _url_secrets(self.spec.git_url)
        return list(dict.fromkeys(s for s in found if s))

    def to_dict(self):
        data = {'id': self.id, 'kind': self.kind,
                'spec': self.spec.to_dict()}
        if self.upload is not None:
            data['upload'] = self.upload.to_dict()
        return data

    @classmethod
    def from_dict(cls, data):
        return cls(id=data['id'], kind=data['kind'], spec=data['spec'],
                   upload=data.get('upload'))
