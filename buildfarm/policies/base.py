"""The rules the others are made of."""

from oslo_policy import policy

ADMIN_OR_OPERATOR = 'rule:admin_or_operator'
PROJECT_MEMBER = 'rule:project_member'
PROJECT_MEMBER_OR_OPERATOR = 'rule:project_member or rule:admin_or_operator'

rules = [
    policy.RuleDefault(
        'admin_or_operator', 'role:admin or role:buildfarm_operator',
        description='Operators of the farm: they scale pools, hold and '
                    'delete nodes, and see and act on every project\'s '
                    'jobs.'),
    # The target's project_id is the caller's own: a job always belongs to
    # the project it was submitted in, and callers see no other project's
    # jobs (the job store filters them out). A token scoped to no project
    # has no project_id in the target, so this rule never matches it.
    policy.RuleDefault(
        'project_member', 'role:member and project_id:%(project_id)s',
        description='A member of the project the caller\'s token is scoped '
                    'to: submits jobs in that project and sees, follows '
                    'and cancels that project\'s jobs.'),
]


def list_rules():
    return rules


def rpc(method):
    """The ``operations`` of a rule of the controller's RPC ``method``."""
    return [{'path': 'ControllerAPI.%s' % method, 'method': 'RPC'}]
