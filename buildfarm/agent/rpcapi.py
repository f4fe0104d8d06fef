"""Client of the agent's RPC API, used by the controller.

Each agent listens on ``topic=buildfarm-agent, server=<node id>``; both
methods are casts: the agent answers through the controller's
NodeCallbackAPI. Version history:

    1.0 - run_job, cancel_job
"""

from buildfarm.common import rpc


class AgentAPI:

    RPC_API_VERSION = '1.0'

    def __init__(self, transport):
        self.client = rpc.get_client(transport, rpc.AGENT_TOPIC,
                                     self.RPC_API_VERSION)

    def run_job(self, node_id, job):
        """Hand ``job`` (``objects.JobMessage(...).to_dict()``) to the
        node's agent."""
        self.client.prepare(server=node_id).cast({}, 'run_job', job=job)

    def cancel_job(self, node_id, job_id):
        self.client.prepare(server=node_id).cast({}, 'cancel_job',
                                                 job_id=job_id)
