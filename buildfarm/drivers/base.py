"""The interface every node driver implements.

A node serves exactly one job: the one it was booted for, which its agent
starts at once (``[agent] boot_job``), or, for a node of a warm pool that
waits registered and idle, the one the controller gives it. The
controller calls ``create`` from its launcher threads, ``delete`` from its
deleter threads, ``status`` and ``list_owned`` from its control loop; a
driver must be safe to call from several threads.
"""

import abc
import dataclasses
import datetime

from buildfarm import objects

from buildfarm.drivers import settings as settings_mod

OWNER_LABEL = 'buildfarm.controller-id'
NODE_LABEL = 'buildfarm.node-id'


@dataclasses.dataclass
class NodeSpec:
    """What a driver needs to boot one node."""

    node_id: str
    # The label's settings for this driver (image, size...); see
    # buildfarm.controller.pools.
    settings: dict
    # Options for the agent. Holds the node's broker URL and secret:
    # deliver it to the agent alone, never through an image, the
    # environment of the job or a log. The driver adds what its way of
    # delivering the node decides (workspace, ca_bundle...) with
    # dataclasses.replace and renders it (AgentConfig.render).
    agent_conf: objects.AgentConfig
    # Host directories of git repositories that jobs may clone through
    # file:// URLs, to be served to the node read-only at the same paths.
    local_repos: list = dataclasses.field(default_factory=list)
    # Name of the node's label.
    label: str = ''


@dataclasses.dataclass
class WatchedNode:
    """What the controller tells a driver of a node it asks about."""

    external_id: str
    # The settings of the node's label for this driver ({} if the label is
    # gone from the pools file).
    settings: dict
    # Its agent registered: whatever watched its boot may stop.
    registered: bool


@dataclasses.dataclass
class NodeStatus:
    alive: bool
    # Why the node is not alive, in words an operator can act on.
    reason: str = None
    # The node failed because the cloud lacked room for it ("no valid
    # host"): jobs wait, as for a quota error, instead of failing.
    capacity: bool = False
    # The node's system is up (e.g. its SSH answered) though its agent has
    # not registered yet: the agent may take until this time (naive UTC),
    # even past the label's boot_timeout.
    register_by: datetime.datetime = None


class NodeDriver(abc.ABC):
    """Boots, watches and destroys nodes."""

    #: Name of the driver, as in the entry point.
    name = None
    #: Its nodes have what build_image jobs need (the runtime image's
    #: archive, [agent] runtime_archive).
    builds_images = False
    #: Its nodes' agents run in the controller's process and talk over the
    #: controller's own RPC transport: ``__init__`` takes it after
    #: ``conf`` (see buildfarm.drivers.load).
    needs_transport = False

    #: {setting: buildfarm.drivers.settings.Rule}: the settings a label
    #: may give this driver.
    settings_rules = {}

    def __init__(self, conf):
        self.conf = conf
        self.owner = conf.controller.controller_id

    def validate_settings(self, settings, label):
        """Check ``settings``, label ``label``'s settings for this driver
        (its mapping under the driver's name in the pools file).

        Called once per label when the controller starts, before any node
        is booted, so that ``create`` may trust them. Raise InvalidPool
        naming the label, the setting and what it must be: for an unknown
        setting (listing the valid ones) or a value of the wrong type or
        range. The default checks them against ``settings_rules``.
        """
        settings_mod.check(label, self.name, settings, self.settings_rules)

    @abc.abstractmethod
    def create(self, spec):
        """Boot a node for ``spec`` (a NodeSpec) and start its agent.

        Called once per node, from a launcher thread. Return the driver's
        id of the node (``external_id``) as soon as the node is booting;
        the agent's ``agent_ready`` call tells when it is up. Every
        resource created carries the owner labels (OWNER_LABEL,
        NODE_LABEL). On failure raise NodeBootError with a reason a
        person can act on, and leave nothing behind; raise QuotaExceeded
        when the cloud lacks quota or capacity (jobs then wait).
        """

    @abc.abstractmethod
    def delete(self, node_id, external_id):
        """Destroy the node and everything it holds.

        Idempotent: deleting a node that is already gone succeeds. Raise
        DriverError only when the node may still exist.
        """

    @abc.abstractmethod
    def status(self, node_id, external_id):
        """Return a NodeStatus: is the node still there and running?

        Called periodically for every live node, through ``statuses``.
        """

    def statuses(self, nodes):
        """Return {node_id: NodeStatus} for ``nodes`` ({node_id:
        WatchedNode}), the driver's live nodes at each watchdog check.

        All a driver knows of a node it did not create in this process
        (the controller restarted) comes from here. Asks ``status`` for
        each; a driver whose cloud answers for many nodes in one call
        overrides this.
        """
        return {node_id: self.status(node_id, watched.external_id)
                for node_id, watched in nodes.items()}

    def console_log(self, node_id, external_id):
        """The last lines of the node's console, for a node that failed
        before its agent could say why; None if the driver has none."""
        return None

    def agent_logs(self, node_id, external_id, settings):
        """The agent's own logs, fetched from a node (of a label with
        these ``settings``) that failed before its agent registered; None
        if the driver cannot fetch them. Called off the control loop."""
        return None

    @abc.abstractmethod
    def list_owned(self):
        """Return {node_id: external_id} of every node carrying this
        controller's owner tag, whether the controller knows it or not.

        Called at start and periodically to find leaked nodes.
        """
