"""Loading configuration and setting up logging for the commands."""

import logging
import warnings

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
    # oslo.messaging pulls in oslo.service's eventlet backend on import;
    # we use the threading executor and do not need the warning.
    warnings.filterwarnings('ignore', module='oslo_service')
    logging.captureWarnings(True)
