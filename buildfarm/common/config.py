"""Loading configuration and setting up logging for the commands."""

from oslo_log import log as oslo_log

from buildfarm.common import rpc
from buildfarm import conf as bf_conf


def load(argv, default_config_files=None):
    """A ConfigOpts with every option registered, parsed from ``argv``."""
    conf = bf_conf.new_config()
    rpc.register_opts(conf)
    oslo_log.register_options(conf)
    conf(argv, project='buildfarm',
         default_config_files=default_config_files)
    return conf


def setup_logging(conf):
    oslo_log.setup(conf, 'buildfarm')
