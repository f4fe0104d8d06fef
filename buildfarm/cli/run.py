"""buildfarm run: one job in all-in-one mode.

The controller runs in this process with SQLite in a temporary directory.
With the local driver the agent runs here too, over the in-process
``fake://`` transport; with the docker driver the agent is in a container
and both talk through the configured broker.
"""

import os
import shutil
import tempfile
import urllib.parse
import uuid

from buildfarm.cli import common
from buildfarm.cli import job as job_cmd
from buildfarm.common import rpc
from buildfarm.controller import rpcapi
from buildfarm.controller import service
from buildfarm import exception


def _repo_url(repo):
    """A local path becomes a file:// URL; a URL is kept as it is."""
    if '://' in repo or ('@' in repo and ':' in repo):
        return repo, None
    path = os.path.realpath(repo)
    if not os.path.isdir(path):
        raise exception.InvalidJobSpec(
            '--repo %s: no such directory (give a local git repository '
            'or a URL).' % repo)
    if not os.path.exists(os.path.join(path, '.git')) and \
            not os.path.exists(os.path.join(path, 'HEAD')):
        raise exception.InvalidJobSpec(
            '--repo %s: not a git repository.' % repo)
    # Quoted: the controller refuses a URL with whitespace in it.
    return 'file://' + urllib.parse.quote(path), path


class Run(job_cmd.JobShowOne):
    """Run one repo_job in all-in-one mode and stream its log to stderr.

    Exits 0 if the command succeeded, 1 if it failed or timed out, 2 if
    the job could not run (bad input, clone failure, no node).
    """

    error_status = common.EXIT_NOT_RUN

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--repo', required=True, metavar='PATH_OR_URL',
                            help='local git repository or git URL')
        parser.add_argument('--ref', help='branch, tag or commit sha')
        parser.add_argument('--cmd', required=True,
                            help='shell command to run in the checkout')
        parser.add_argument('--timeout', type=int,
                            help='seconds the command may run')
        parser.add_argument('--env', action='append', metavar='NAME=VALUE',
                            help='environment variable for the command')
        parser.add_argument('--secret-env-file', metavar='PATH|-',
                            help='environment variables whose values are '
                                 'never stored and are masked in the log, '
                                 'one NAME=VALUE a line (# comments), read '
                                 'from this file ("-": standard input), '
                                 'where ps does not show them')
        parser.add_argument('--driver', choices=['local', 'docker'],
                            default='local',
                            help='local: the job runs on this machine as an '
                                 'unprivileged user (default); docker: in '
                                 'a fresh container of the worker image')
        parser.add_argument('--transport-url',
                            help='broker for --driver docker (default: '
                                 'transport_url of the configuration)')
        return parser

    def take_action(self, args):
        git_url, local_path = _repo_url(args.repo)
        spec = {'git_url': git_url, 'ref': args.ref, 'cmd': args.cmd,
                'env': common.parse_env(args.env)}
        if args.secret_env_file:
            try:
                spec['secret_env'] = common.parse_env_file(
                    common.read_secret(args.secret_env_file, self.app.stdin),
                    args.secret_env_file)
            except ValueError as e:
                raise exception.InvalidJobSpec('--secret-env-file: %s' % e)
        if args.timeout is not None:
            spec['timeout'] = args.timeout
        workdir = tempfile.mkdtemp(prefix='buildfarm-run-')
        conf = all_in_one(self.app.conf, args.driver, workdir,
                          [local_path] if local_path else [],
                          args.transport_url)
        controller = None
        try:
            controller = service.ControllerService(conf)
            controller.start()
            api = rpcapi.get_client(conf, controller.transport)
            job = api.repo_job(spec)
            try:
                job = common.follow(api, job['id'], self.app.stderr)
            except KeyboardInterrupt:
                self.app.stderr.write('\ncancelling job %s\n' % job['id'])
                api.cancel_job(job['id'])
                job = common.follow(api, job['id'], self.app.stderr)
            self.exit_status = common.exit_status(job)
            return common.COLUMNS, common.job_row(job)
        finally:
            if controller is not None:
                controller.stop()
                rpc.forget_transport(conf.transport_url)
            shutil.rmtree(workdir, ignore_errors=True)


def all_in_one(conf, driver, workdir, local_dirs=(), transport_url=None):
    """Set ``conf`` up for a controller in this process: SQLite and logs
    in ``workdir``, one label of ``driver``, its own name and topic; the
    host directories ``local_dirs`` are served to nodes read-only."""
    conf.set_override('connection', 'sqlite:///%s/buildfarm.sqlite'
                      % workdir, 'database')
    conf.set_override('log_dir', os.path.join(workdir, 'logs'),
                      'controller')
    # One "default" label of the chosen driver, whatever pools the
    # configuration file describes.
    conf.set_override('driver', driver, 'controller')
    conf.set_override('pools_file', None, 'controller')
    conf.set_override('default_label', None, 'controller')
    # Its own name and topic: on a broker shared with other
    # controllers, this one must answer only its own calls and agents.
    name = 'buildfarm-run-%s' % uuid.uuid4().hex[:8]
    conf.set_override('controller_id', name, 'controller')
    conf.set_override('topic', name, 'controller')
    conf.set_override('allowed_local_repo_dirs', list(local_dirs),
                      'controller')
    # Its only caller is this process: its caller API is served on an
    # in-process transport (below), so it needs no authentication.
    conf.set_override('auth_strategy', 'noauth')
    if not conf.build_image.runtime_archive_dir:
        # Kept across runs: saving the runtime image takes seconds.
        cache = os.environ.get('XDG_CACHE_HOME') or os.path.expanduser(
            '~/.cache')
        conf.set_override('runtime_archive_dir', os.path.join(
            cache, 'buildfarm', 'runtime-images'), 'build_image')
    if driver == 'local':
        conf.set_override('transport_url', 'fake://')
    else:
        # Nodes reach it over the broker; callers cannot: anyone on the
        # broker could otherwise call this unauthenticated controller.
        if not conf.node.transport_url:
            conf.set_override('transport_url',
                              transport_url or conf.transport_url, 'node')
        conf.set_override('transport_url', 'fake://%s/' % name)
    if driver == 'docker' and conf.docker.network_mode in ('bridge',
                                                           'isolated'):
        broker = urllib.parse.urlsplit(
            conf.node.transport_url or conf.transport_url).hostname
        if broker in (None, '127.0.0.1', 'localhost', '::1'):
            # A node on the bridge network cannot reach this machine's
            # loopback, where the broker listens.
            conf.set_override('network_mode', 'host', 'docker')
    return conf
