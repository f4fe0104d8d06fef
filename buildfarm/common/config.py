"""Loading configuration and setting up logging for the commands."""

from oslo_log import log as oslo_log

from buildfarm import conf as bf_conf


def load(argv, default_config_files=None, messaging=True):
    """A ConfigOpts with every option registered, parsed from ``argv``.

    Without ``messaging`` the oslo.messaging options are left out (and
    oslo.messaging is not imported): the agent registers them later.
    """
    conf = bf_conf.new_config()
    if messaging:
        from buildfarm.common import rpc
        rpc.register_opts(conf)
    oslo_log.register_options(conf)
    conf(argv, project='buildfarm',
         default_config_files=default_config_files)
    return conf


def setup_logging(conf):
    oslo_log.setup(conf, 'buildfarm')
