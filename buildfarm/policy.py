"""oslo.policy for the controller's caller and operator API.

The rules' defaults are in code (``buildfarm.policies``); an operator
overrides them in the file of ``[oslo_policy] policy_file``
(policy.yaml, looked up beside the configuration files).
"""

from oslo_policy import policy as oslo_policy

from buildfarm import conf as bf_conf
from buildfarm import exception
from buildfarm import policies


def _target(context):
    # Only a caller scoped to a project has one: with {'project_id': None}
    # the rule "project_id:%(project_id)s" would match a token without a
    # project ("None" == "None").
    target = {'user_id': context.user_id}
    if context.project_id:
        target['project_id'] = context.project_id
    return target


class Policy:

    def __init__(self, conf):
        self.enforcer = oslo_policy.Enforcer(conf)
        self.enforcer.register_defaults(policies.list_rules())

    def check(self, context, rule):
        """Whether ``rule`` allows ``context`` (a RequestContext) to act
        on its own project's things."""
        return bool(self.enforcer.enforce(rule, _target(context),
                                          context.to_policy_values()))

    def authorize(self, context, rule):
        """Raise Forbidden unless ``rule`` allows ``context``."""
        if not self.check(context, rule):
            raise exception.Forbidden(
                'Policy does not allow %s to user %s (project %s, roles: '
                '%s).' % (rule, context.user_id, context.project_id,
                          ', '.join(context.roles) or 'none'))


def get_enforcer():
    """The enforcer of the defaults, for the oslopolicy-* commands (entry
    point ``oslo.policy.enforcer``)."""
    conf = bf_conf.new_config()
    conf([], project='buildfarm')
    return Policy(conf).enforcer
