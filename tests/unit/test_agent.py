"""The agent on its own: what it does when it cannot reach anybody."""

import time

from buildfarm.agent import agent as agent_mod
from buildfarm.common import auth
from buildfarm.common import config
from buildfarm.common import seal


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


def test_the_agent_acts_only_on_messages_sealed_for_it(monkeypatch):
    conf = config.load([], messaging=False)
    conf.set_override('node_id', 'n1', 'agent')
    conf.set_override('node_secret', 'bootstrap', 'agent')
    conf.set_override('report_timeout', 1, 'agent')
    agent = agent_mod.Agent(conf)
    session = auth.session_key('key', 'n1')
    agent._session = session
    agent._has_session.set()
    ran = []
    monkeypatch.setattr(agent, 'run_job', ran.append)
    job = {'id': 'j1', 'kind': 'repo_job',
           'spec': {'git_url': 'https://example.com/r.git', 'cmd': 'true'}}
    genuine = seal.seal(session, 'run_job', 'n1', {'job': job})
    for box in (seal.seal('guessed', 'run_job', 'n1', {'job': job}),
                seal.seal(session, 'run_job', 'n2', {'job': job}),
                seal.seal(session, 'format_disk', 'n1', {}), 'garbage'):
        agent.deliver(box)
    assert ran == [] and agent.rejected == 4
    agent.deliver(genuine)
    agent.deliver(genuine)  # a replay
    assert [j.id for j in ran] == ['j1']
    assert agent.rejected == 5
