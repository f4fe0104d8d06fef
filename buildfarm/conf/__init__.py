"""Configuration: one module per option group (see ``opts.py``)."""

from oslo_config import cfg

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


def register_opts(conf):
    for module in (agent, auth, build_image, controller, database, docker,
                   image, local, mistral, node, nova):
        module.register_opts(conf)


def new_config():
    """A private ConfigOpts with every buildfarm option registered.

    A private object rather than the global ``cfg.CONF`` lets the
    all-in-one mode run a controller and agents with different settings in
    one process.
    """
    conf = cfg.ConfigOpts()
    register_opts(conf)
    return conf
