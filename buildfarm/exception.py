"""The one exception tree of buildfarm.

Every exception here is safe to send over RPC (its only argument is a
message a person can act on); ``buildfarm.common.rpc`` lets this module
cross the wire, so a caller gets the same class the controller raised.
"""


class BuildfarmError(Exception):
    """Base of every buildfarm error."""

    def __init__(self, message=None):
        super().__init__(message or self.__doc__)

    @property
    def message(self):
        return self.args[0]


class InvalidInput(BuildfarmError):
    """An argument of a call is not valid (the message names it and the
    rule it breaks)."""


class InvalidJobSpec(InvalidInput):
    """The job specification is not valid."""


class UnknownLabel(InvalidJobSpec):
    """No pool has this label."""


class InvalidPool(InvalidInput):
    """The pool definition is not valid."""


class NodeNotFound(BuildfarmError):
    """No such node."""


class JobNotFound(BuildfarmError):
    """No such job."""


class QueueFull(BuildfarmError):
    """The project has as many jobs queued as the controller takes."""


class NodeBootError(BuildfarmError):
    """The node could not be booted."""


class QuotaExceeded(NodeBootError):
    """The cloud refused a node for lack of quota or capacity; jobs wait."""


class DriverError(BuildfarmError):
    """The node driver failed."""


class CloneError(BuildfarmError):
    """The repository could not be cloned at the requested ref."""


class AgentAuthError(BuildfarmError):
    """An agent message failed authentication."""


class ImageBuildError(BuildfarmError):
    """An image (the worker image, an application's) could not be built."""


class NotAuthorized(BuildfarmError):
    """The call carried no valid Keystone token."""


class Forbidden(BuildfarmError):
    """The policy does not allow this call to this caller."""


class IdentityUnavailable(BuildfarmError):
    """The controller could not validate the caller's token: Keystone
    could not be reached or refused the controller's service user."""
