"""The agent's configuration: what the controller and the node's driver
give the agent of a node, written into its oslo.config file (or set as
overrides, for an agent in the controller's process).

The controller fills in what every node gets
(``NodeKeeper._agent_conf``); a driver adds what depends on how it
delivers the node, with ``dataclasses.replace(config, workspace=...)``.
An option left None is not given: the agent uses its default
(``buildfarm.conf.agent``).
"""

import configparser
import dataclasses
import io
import json

from buildfarm.objects import message

_AGENT = 'agent'


def _option(group=_AGENT, secret=False):
    # repr=False: a secret must not reach a log through a NodeSpec.
    return dataclasses.field(default=None, repr=not secret,
                             metadata={'group': group})


@dataclasses.dataclass
class AgentConfig:
    """Options of the agent; the order of the fields is the order of the
    options in its configuration file."""

    # [DEFAULT] transport_url: the node's broker, with its credentials.
    transport_url: str = _option('DEFAULT', secret=True)
    # Given by the controller.
    node_id: str = _option()
    controller_topic: str = _option()
    node_secret: str = _option(secret=True)
    lease: int = _option()
    heartbeat_interval: float = _option()
    # Environment of every job (mirrors, proxies).
    job_env: dict = _option()
    packs_dir: str = _option()
    # The job the node was booted for.
    boot_job: message.JobMessage = _option(secret=True)
    # Given by the node's driver.
    workspace: str = _option()
    ca_bundle: str = _option()
    runtime_archive: str = _option()
    job_user: str = _option()

    def __post_init__(self):
        if isinstance(self.boot_job, dict):
            self.boot_job = message.JobMessage.from_dict(self.boot_job)

    def to_groups(self):
        """{group: {option: value}} as oslo.config takes them, in a file
        or as overrides: options left None are left out, a mapping or a
        job is JSON, and "$" is escaped (oslo.config would read it as a
        reference to another option)."""
        groups = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value is None:
                continue
            if isinstance(value, message.JobMessage):
                value = value.to_dict()
            if isinstance(value, dict):
                value = json.dumps(value)
            if isinstance(value, str):
                value = value.replace('$', '$$')
            groups.setdefault(field.metadata['group'], {})[field.name] = (
                value)
        return groups

    def render(self):
        """The agent's configuration file (oslo.config INI)."""
        parser = configparser.ConfigParser(interpolation=None)
        for group, options in self.to_groups().items():
            if group != 'DEFAULT':
                parser.add_section(group)
            for name, value in options.items():
                parser.set(group, name, str(value))
        out = io.StringIO()
        parser.write(out)
        return out.getvalue()

    def to_dict(self):
        data = {f.name: getattr(self, f.name)
                for f in dataclasses.fields(self)}
        if self.boot_job is not None:
            data['boot_job'] = self.boot_job.to_dict()
        if self.job_env is not None:
            data['job_env'] = dict(self.job_env)
        return data

    @classmethod
    def from_dict(cls, data):
        return cls(**{f.name: data[f.name]
                      for f in dataclasses.fields(cls) if f.name in data})
