"""The defaults of the controller's policy rules, in code (entry point
``oslo.policy.policies``); ``tox -e genpolicy`` writes them to
etc/buildfarm/policy.yaml.sample. An operator overrides a rule in the
file of ``[oslo_policy] policy_file``."""

import itertools

from buildfarm.policies import base
from buildfarm.policies import jobs
from buildfarm.policies import operators


def list_rules():
    return list(itertools.chain(base.list_rules(), jobs.list_rules(),
                                operators.list_rules()))
