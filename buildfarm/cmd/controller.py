"""buildfarm-controller: the controller service."""

import logging
import signal
import sys
import threading

from buildfarm.common import config
from buildfarm.controller import service
from buildfarm import exception

LOG = logging.getLogger(__name__)


def main(argv=None):
    conf = config.load(sys.argv[1:] if argv is None else argv)
    config.setup_logging(conf)
    try:
        controller = service.ControllerService(conf)
    except exception.BuildfarmError as e:
        # A configuration the controller cannot serve with: say why, once.
        LOG.error('The controller cannot start: %s', e)
        return 1
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    controller.start()
    stop.wait()
    controller.stop()
    return 0


if __name__ == '__main__':
    sys.exit(main())
