"""What crosses a process boundary, defined once for both sides.

Each object turns into a dict of JSON primitives (``to_dict``) and back
(``from_dict``): the job spec, the job message the controller sends an
agent, the report the agent sends back, and the agent's configuration.
"""

from buildfarm.objects.agent_config import AgentConfig  # noqa: F401
from buildfarm.objects.message import JobMessage  # noqa: F401
from buildfarm.objects.message import UploadTarget  # noqa: F401
from buildfarm.objects.report import AGENT_PHASES  # noqa: F401
from buildfarm.objects.report import CONTROLLER_PHASES  # noqa: F401
from buildfarm.objects.report import PHASES  # noqa: F401
from buildfarm.objects.report import Report  # noqa: F401
from buildfarm.objects.spec import BUILD_IMAGE  # noqa: F401
from buildfarm.objects.spec import DEFAULT_TIMEOUT  # noqa: F401
from buildfarm.objects.spec import JobSpec  # noqa: F401
from buildfarm.objects.spec import KINDS  # noqa: F401
from buildfarm.objects.spec import REPO_JOB  # noqa: F401
from buildfarm.objects.spec import spec_fields  # noqa: F401
from buildfarm.objects.spec import SpecField  # noqa: F401
