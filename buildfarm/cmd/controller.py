"""buildfarm-controller: the controller service."""

import signal
import sys
import threading

from buildfarm.common import config
from buildfarm.controller import service


def main(argv=None):
    conf = config.load(sys.argv[1:] if argv is None else argv)
    config.setup_logging(conf)
    controller = service.ControllerService(conf)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    controller.start()
    stop.wait()
    controller.stop()
    return 0


if __name__ == '__main__':
    sys.exit(main())
