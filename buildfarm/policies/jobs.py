"""Rules of the callers' API: jobs."""

from oslo_policy import policy

from buildfarm.policies import base

PREFIX = 'buildfarm:job:%s'
# Who sees and acts on the jobs of every project; the others see only
# their own project's jobs, and another project's job is "not found".
ALL_PROJECTS = PREFIX % 'all_projects'


def _rule(method, description, check_str=base.PROJECT_MEMBER_OR_OPERATOR):
    return policy.DocumentedRuleDefault(
        name=PREFIX % method, check_str=check_str, description=description,
        operations=base.rpc(method))


rules = [
    _rule('repo_job', 'Submit a repo_job in the caller\'s project.'),
    _rule('build_image', 'Submit a build_image job in the caller\'s '
                         'project.'),
    _rule('get_job', 'Show a job of the caller\'s project.'),
    _rule('list_jobs', 'List the jobs of the caller\'s project.'),
    _rule('cancel_job', 'Cancel a job of the caller\'s project.'),
    _rule('get_log', 'Read (follow) the log of a job of the caller\'s '
                     'project.'),
    policy.DocumentedRuleDefault(
        name=ALL_PROJECTS, check_str=base.ADMIN_OR_OPERATOR,
        description='See and act on the jobs of every project: get_job, '
                    'cancel_job and get_log of any job, list_jobs with '
                    'all_projects. Without it, another project\'s job is '
                    'not found.',
        operations=(base.rpc('get_job') + base.rpc('cancel_job') +
                    base.rpc('get_log') + base.rpc('list_jobs'))),
]


def list_rules():
    return rules
