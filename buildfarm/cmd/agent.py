"""buildfarm-agent: the agent inside a node."""

import logging
import os
import sys

from buildfarm.agent import agent as agent_mod
from buildfarm.agent import process
from buildfarm.common import config


def _remove(paths):
    for path in paths:
        try:
            os.unlink(path)
        except OSError as e:
            logging.getLogger(__name__).warning(
                'Could not remove %s after reading it: %s', path, e)


def main(argv=None):
    conf = config.load(sys.argv[1:] if argv is None else argv,
                       messaging=False)
    config.setup_logging(conf)
    if conf.agent.remove_config:
        _remove(conf.config_file)
    process.become_subreaper()
    agent = agent_mod.Agent(conf)
    agent.start()
    agent.done.wait()
    # Not sys.exit: the messaging library's threads may still be retrying
    # the broker, and the node has nothing left to do.
    logging.shutdown()
    os._exit(0)


if __name__ == '__main__':
    sys.exit(main())
