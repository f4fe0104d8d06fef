"""Entry point of oslo-config-generator (``tox -e genconfig``)."""

from buildfarm.conf import agent
from buildfarm.conf import auth
from buildfarm.conf import build_image
from buildfarm.conf import controller
from buildfarm.conf import database
from buildfarm.conf import docker
from buildfarm.conf import image
from buildfarm.conf import local
from buildfarm.conf import mistral
from buildfarm.conf import node
from buildfarm.conf import nova


def list_opts():
    groups = {}
    for module in (agent, auth, build_image, controller, database, docker,
                   image, local, mistral, node, nova):
        groups.update(module.list_opts())
    return sorted(groups.items())
