"""The ``buildfarm`` command (cliff)."""

import logging
import sys

from cliff import app
from cliff import commandmanager

from buildfarm.cli import auth
from buildfarm.common import config

VERSION = '0.1'


class BuildfarmApp(app.App):

    def __init__(self):
        super().__init__(
            description='A disposable build farm for OpenStack.',
            version=VERSION,
            command_manager=commandmanager.CommandManager('buildfarm.cli'),
            deferred_help=True)
        self._conf = None

    def build_option_parser(self, description, version, argparse_kwargs=None):
        parser = super().build_option_parser(description, version,
                                             argparse_kwargs)
        parser.add_argument(
            '--config-file', action='append', default=[],
            help='buildfarm configuration file (transport_url of the '
                 'controller\'s broker, ...); may be repeated.')
        parser.add_argument(
            '--os-cloud', metavar='NAME',
            help='cloud of clouds.yaml whose Keystone token the calls '
                 'carry (default: $OS_CLOUD, else the OS_* variables); '
                 'needed unless the configuration says auth_strategy = '
                 'noauth.')
        return parser

    def configure_logging(self):
        """Quieter than cliff's default: the job's log is the output, so
        the controller's own messages show only with -v."""
        super().configure_logging()
        level = {0: logging.ERROR, 1: logging.WARNING,
                 2: logging.INFO}.get(self.options.verbose_level,
                                      logging.DEBUG)
        for handler in logging.getLogger().handlers:
            if getattr(handler, 'stream', None) is self.stderr:
                handler.setLevel(level)
        if self.options.verbose_level <= 1:
            # py-amqp warns about frames that arrive while a channel closes
            # at exit; harmless, and noise in a command's output.
            logging.getLogger('amqp').setLevel(logging.ERROR)

    @property
    def conf(self):
        """The oslo.config configuration named by --config-file."""
        if self._conf is None:
            argv = []
            for path in self.options.config_file:
                argv += ['--config-file', path]
            self._conf = config.load(argv)
        return self._conf

    def client(self):
        """The controller's RPC client, whose calls carry the caller's
        token when one is needed (see ``cli.auth``)."""
        from buildfarm.controller import rpcapi
        return rpcapi.get_client(self.conf, token=auth.token_source(
            self.conf, self.options.os_cloud))


def main(argv=None):
    return BuildfarmApp().run(sys.argv[1:] if argv is None else argv)


if __name__ == '__main__':
    sys.exit(main())
