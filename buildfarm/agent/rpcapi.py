"""Client of the agent's RPC API, used by the controller.

Each agent listens on ``topic=buildfarm-agent`` under a server name only
the controller and that node can derive (``auth.agent_server``). Every
message is a cast of ``deliver``: one box sealed with the node's session
key, holding the method and its arguments (``seal.seal``); the agent
answers through the controller's NodeCallbackAPI. Version history:

    1.0 - run_job, cancel_job
    2.0 - deliver(box): run_job and cancel_job, sealed
"""

from buildfarm.common import auth
from buildfarm.common import rpc
from buildfarm.common import seal


class AgentAPI:

    RPC_API_VERSION = '2.0'

    def __init__(self, transport, node_key):
        """``node_key``: the controller's key, from which each node's
        secrets derive."""
        self._key = node_key
        self.client = rpc.get_client(transport, rpc.AGENT_TOPIC,
                                     self.RPC_API_VERSION)

    def _cast(self, node_id, method, **args):
        box = seal.seal(auth.session_key(self._key, node_id), method,
                        node_id, args)
        server = auth.agent_server(auth.node_secret(self._key, node_id),
                                   node_id)
        self.client.prepare(server=server).cast({}, 'deliver', box=box)

    def run_job(self, node_id, job):
        """Hand ``job`` (``objects.JobMessage(...).to_dict()``) to the
        node's agent."""
        self._cast(node_id, 'run_job', job=job)

    def cancel_job(self, node_id, job_id):
        self._cast(node_id, 'cancel_job', job_id=job_id)
