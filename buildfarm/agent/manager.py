"""RPC endpoints of the agent; see ``rpcapi.AgentAPI``."""

from buildfarm.agent import rpcapi
from buildfarm.common import rpc


class AgentManager:

    target = rpc.target(rpcapi.AgentAPI.RPC_API_VERSION)

    def __init__(self, agent):
        self.agent = agent

    def deliver(self, context, box):
        self.agent.deliver(box)
