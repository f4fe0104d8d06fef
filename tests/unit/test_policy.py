"""The policy rules' defaults: who may call what."""

import inspect

import pytest

from buildfarm.common import context
from buildfarm.controller import manager
from buildfarm import exception
from buildfarm import policies
from buildfarm import policy

ALICE = context.RequestContext('alice', 'alpha', ('member', 'reader'))
READER = context.RequestContext('rita', 'alpha', ('reader',))
OSCAR = context.RequestContext('oscar', 'alpha',
                               ('member', 'reader', 'buildfarm_operator'))
ADMIN = context.RequestContext('admin', 'admin', ('admin', 'member',
                                                  'reader'))
# A member of a domain, not of a project: not a project member.
DOMAIN_MEMBER = context.RequestContext('dora', None, ('member',))
OPERATOR_WITHOUT_PROJECT = context.RequestContext(
    'olga', None, ('buildfarm_operator',))

JOB_RULES = ['buildfarm:job:%s' % m for m in (
    'repo_job', 'build_image', 'get_job', 'list_jobs', 'cancel_job',
    'get_log')]
OPERATOR_RULES = ['buildfarm:pool:list', 'buildfarm:pool:show',
                  'buildfarm:pool:set', 'buildfarm:node:list',
                  'buildfarm:node:hold', 'buildfarm:node:delete',
                  'buildfarm:job:all_projects']


@pytest.fixture
def rules(conf):
    return policy.Policy(conf)


@pytest.mark.parametrize('rule', JOB_RULES)
def test_project_members_use_their_projects_jobs(rules, rule):
    assert rules.check(ALICE, rule)
    assert not rules.check(READER, rule)
    assert not rules.check(DOMAIN_MEMBER, rule)


@pytest.mark.parametrize('rule', OPERATOR_RULES)
def test_operator_actions_need_admin_or_buildfarm_operator(rules, rule):
    assert not rules.check(ALICE, rule)
    assert not rules.check(DOMAIN_MEMBER, rule)
    for who in (OSCAR, ADMIN, OPERATOR_WITHOUT_PROJECT):
        assert rules.check(who, rule), who


@pytest.mark.parametrize('rule', JOB_RULES)
def test_operators_use_any_job(rules, rule):
    for who in (OSCAR, ADMIN, OPERATOR_WITHOUT_PROJECT):
        assert rules.check(who, rule), who


def test_a_refusal_names_the_rule_and_the_caller(rules):
    with pytest.raises(exception.Forbidden,
                       match=r'buildfarm:pool:set to user alice \(project '
                             r'alpha, roles: member, reader\)'):
        rules.authorize(ALICE, 'buildfarm:pool:set')


def test_a_policy_file_overrides_a_default(conf, tmp_path):
    path = tmp_path / 'policy.yaml'
    path.write_text('"buildfarm:pool:list": "role:reader"\n')
    policy.Policy(conf)   # registers [oslo_policy]
    conf.set_override('policy_file', str(path), 'oslo_policy')
    rules = policy.Policy(conf)
    assert rules.check(READER, 'buildfarm:pool:list')
    assert not rules.check(READER, 'buildfarm:pool:set')


def _endpoints():
    return [(name, method) for name, method in inspect.getmembers(
        manager.ControllerManager, inspect.isfunction)
        if not name.startswith('_')]


@pytest.mark.parametrize('name,method', _endpoints(),
                         ids=[name for name, _ in _endpoints()])
def test_every_endpoint_checks_its_own_registered_rule(name, method):
    registered = {r.name: r for r in policies.list_rules()}
    assert method.rule in registered
    assert registered[method.rule].operations[0]['path'] == (
        'ControllerAPI.%s' % name)


def test_the_enforcer_of_the_oslopolicy_commands_knows_every_rule():
    enforcer = policy.get_enforcer()
    assert set(enforcer.registered_rules) == {
        r.name for r in policies.list_rules()}
