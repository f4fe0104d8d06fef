"""The agent on its own: what it does when it cannot reach anybody."""

import time

from buildfarm.agent import agent as agent_mod
from buildfarm.common import config


def test_an_agent_that_cannot_reach_the_broker_stops_after_its_lease(
        tmp_path):
    path = tmp_path / 'agent.conf'
    path.write_text(
        '[DEFAULT]\ntransport_url = rabbit://u:p@127.0.0.1:9/\n'
        '[agent]\nnode_id = n1\nnode_secret = s\nlease = 1\n'
        'workspace = %s\n' % tmp_path)
    # As buildfarm-agent loads it: the messaging options come later.
    conf = config.load(['--config-file', str(path)], messaging=False)
    agent = agent_mod.Agent(conf)
    start = time.monotonic()
    agent.start()
    assert agent.done.wait(10)
    assert 0.9 < time.monotonic() - start < 5
