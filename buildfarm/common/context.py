"""Who is calling: the request context every caller and operator RPC
carries.

Over RPC a context travels as a plain dict (oslo.messaging serializes
it); ``to_dict``/``from_dict`` are the two ends. The controller builds the
context it trusts from the caller's token (see ``controller.auth``), never
from what the caller says about itself.
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class RequestContext:
    user_id: str = None
    project_id: str = None
    roles: tuple = ()
    # The caller's Keystone token (never stored, never logged).
    auth_token: str = dataclasses.field(default=None, repr=False)

    def to_dict(self):
        return {'auth_token': self.auth_token} if self.auth_token else {}

    def to_policy_values(self):
        """What oslo.policy's rules see."""
        return {'user_id': self.user_id, 'project_id': self.project_id,
                'roles': list(self.roles)}
