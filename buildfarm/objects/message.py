"""The job message: what the controller hands an agent to run
(``AgentAPI.run_job``, or ``[agent] boot_job`` for the node booted for
the job)."""

import dataclasses

from buildfarm.objects import spec as spec_mod


@dataclasses.dataclass
class UploadTarget:
    """Where a build_image job's node uploads its image, and with what
    token (the caller's own, or one of the controller's cloud; never the
    cloud's credentials)."""

    endpoint: str
    token: str = dataclasses.field(default=None, repr=False)
    # Tries of the upload before the job fails.
    attempts: int = 1
    # Largest image the node may upload, in bytes.
    max_bytes: int = None
    # The port the app listens on in the image ($PORT).
    port: int = None

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
        """The values the job's log must never show."""
        found = list((self.spec.secret_env or {}).values())
        for token in (self.spec.token, self.upload and self.upload.token):
            if token:
                found.append(token)
        return found

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
