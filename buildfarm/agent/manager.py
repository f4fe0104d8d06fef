"""RPC endpoints of the agent; see ``rpcapi.AgentAPI``."""

from buildfarm.agent import rpcapi
from buildfarm.common import rpc
from buildfarm import objects


class AgentManager:

    target = rpc.target(rpcapi.AgentAPI.RPC_API_VERSION)

    def __init__(self, agent):
        self.agent = agent

    def run_job(self, context, job):
        self.agent.run_job(objects.JobMessage.from_dict(job))

    def cancel_job(self, context, job_id):
        self.agent.cancel_job(job_id)
