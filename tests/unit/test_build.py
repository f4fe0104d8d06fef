import pytest

from buildfarm.agent import build
from buildfarm.agent import process
from buildfarm.agent import runner
from buildfarm import objects
from buildfarm import states


@pytest.mark.parametrize('name,commit,tag', [
    ('My App', 'a' * 40, 'my-app:' + 'a' * 12),
    ('org/app_v2.1', None, 'org/app_v2.1:latest'),
    ('--', 'abc', 'app:abc'),
])
def test_docker_tags_are_valid_references(name, commit, tag):
    assert build.docker_tag(name, commit) == tag


@pytest.mark.parametrize('how,code,state,reason', [
    (process.CANCELLED, 143, states.CANCELLED,
     'Cancelled while the compile step ran; all its processes were '
     'stopped.'),
    (process.TIMED_OUT, 137, states.TIMED_OUT,
     "The compile step ran longer than the job's timeout of 9 s; all its "
     "processes were stopped."),
    (process.EXITED, 2, states.FAILED, 'The compile step exited with '
     'status 2.'),
])
def test_outcomes_name_what_ran(how, code, state, reason):
    report = runner.Outcome(how, code, 1.0, False, False).report(
        objects.Report(), 'The compile step', 9)
    assert (report.state, report.reason) == (state, reason)
    assert report.exit_code == code
