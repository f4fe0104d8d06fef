"""buildfarm job submit|submit-build|show|list|logs|cancel."""

from cliff import command
from cliff import lister
from cliff import show

from buildfarm.cli import common
from buildfarm.common import rpc
from buildfarm import exception
from buildfarm import objects


class ControllerCommand:
    """Mixin of the commands that call the controller: they set their own
    exit status, and show its errors as one line."""

    #: Exit status when the controller answers with an error.
    error_status = 1

    def run(self, parsed_args):
        self.exit_status = 0
        try:
            super().run(parsed_args)
        except exception.BuildfarmError as e:
            # The message alone: a remote error's str() ends with the
            # controller's traceback.
            self.app.stderr.write('buildfarm: error: %s\n' % e.message)
            return self.error_status
        except rpc.MessagingTimeout:
            self.app.stderr.write(
                'buildfarm: error: the controller did not answer; is '
                'buildfarm-controller running, and is transport_url in the '
                'configuration file right?\n')
            return self.error_status
        return self.exit_status


class JobShowOne(ControllerCommand, show.ShowOne):
    """A command that shows one job (or another object)."""


class ControllerLister(ControllerCommand, lister.Lister):
    """A command that lists what the controller answers."""


class _Submit(JobShowOne):
    """What both kinds of job submission share. The options of the spec
    are the spec's fields (objects.JobSpec)."""

    error_status = common.EXIT_NOT_RUN
    #: The kind of job, also the ControllerAPI method that submits it.
    kind = None

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        for field in objects.spec_fields(self.kind):
            if field.secret:
                # A secret on the command line shows in ps: a file too.
                group = parser.add_mutually_exclusive_group()
                _add_option(group, field)
                group.add_argument(
                    field.flag + '-file', dest=field.name + '_file',
                    metavar='PATH|-', help=_FILE_HELP[field.type] % (
                        field.flag))
            else:
                _add_option(parser, field)
        parser.add_argument('--idempotency-key', metavar='KEY',
                            help='submitting again with the same key '
                                 'returns the first job')
        parser.add_argument('--wait', action='store_true',
                            help='stream the log (to stderr) and exit 0 if '
                                 'the job succeeded, 1 if it failed or '
                                 'timed out, 2 if the job could not run')
        return parser

    def spec(self, parsed_args):
        """The spec of the options given; the controller fills in the
        defaults."""
        spec = {}
        files = [getattr(parsed_args, f.name + '_file', None)
                 for f in objects.spec_fields(self.kind) if f.secret]
        if files.count('-') > 1:
            raise exception.InvalidJobSpec(
                'Only one option can read standard input ("-").')
        for field in objects.spec_fields(self.kind):
            value = getattr(parsed_args, field.name)
            path = getattr(parsed_args, field.name + '_file', None)
            try:
                if path is not None:
                    value = _from_file(field, path, self._stdin())
                elif field.type is dict:
                    value = common.parse_env(value)
            except ValueError as e:
                raise exception.InvalidJobSpec('%s: %s' % (
                    field.flag + ('-file' if path else ''), e))
            if value is not None:
                spec[field.name] = value
        return spec

    def _stdin(self):
        return getattr(self.app, 'stdin', None)

    def take_action(self, parsed_args):
        api = self.app.client()
        job = getattr(api, self.kind)(
            self.spec(parsed_args),
            idempotency_key=parsed_args.idempotency_key)
        if parsed_args.wait:
            job = common.follow(api, job['id'], self.app.stderr)
            self.exit_status = common.exit_status(job)
        return common.COLUMNS, common.job_row(job)


_FILE_HELP = {
    str: 'read %s from this file ("-": standard input), where ps does '
         'not show it',
    dict: 'read %s from this file ("-": standard input), one NAME=VALUE '
          'a line (# comments), where ps does not show them',
}


def _from_file(field, path, stdin):
    text = common.read_secret(path, stdin)
    if field.type is dict:
        return common.parse_env_file(text, path)
    value = text.strip()
    if not value:
        raise ValueError('%s is empty' % path)
    return value


def _add_option(parser, field):
    help = field.cli_help or field.help
    if field.secret:
        help += '; ps shows it to other users: prefer %s-file' % field.flag
    kwargs = dict(dest=field.name, help=help,
                  metavar=field.metavar, required=field.required)
    if field.type is dict:
        kwargs['action'] = 'append'  # NAME=VALUE, repeated
    elif field.type is not str:
        kwargs['type'] = field.type
    parser.add_argument(field.flag, **kwargs)


class SubmitJob(_Submit):
    """Submit a repo_job: clone a repository at a ref, run a command."""

    kind = objects.REPO_JOB


class SubmitBuild(_Submit):
    """Submit a build_image job: build an app with a language pack into
    an image and upload it to Glance."""

    kind = objects.BUILD_IMAGE


class _OneJob(JobShowOne):
    """A command on one job, named by its id."""

    #: The ControllerAPI method that takes the job id.
    api_method = None

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('job_id', help='job id')
        return parser

    def take_action(self, parsed_args):
        api = self.app.client()
        job = getattr(api, self.api_method)(parsed_args.job_id)
        return common.COLUMNS, common.job_row(job)


class ShowJob(_OneJob):
    """Show a job: state, exit code, tested commit, reason, timings."""

    api_method = 'get_job'


class CancelJob(_OneJob):
    """Cancel a job; a running command is stopped, its node destroyed."""

    api_method = 'cancel_job'


class ListJobs(ControllerLister):
    """List the jobs of the token's project, newest first."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('--state', help='only jobs in this state')
        parser.add_argument('--limit', type=int,
                            help='at most this many jobs (default 100, '
                                 'at most 1000)')
        parser.add_argument('--marker', metavar='JOB_ID',
                            help='the jobs after this one (the last of '
                                 'the previous page)')
        parser.add_argument('--all-projects', action='store_true',
                            help='the jobs of every project, not only of '
                                 'the token\'s (admins and operators)')
        return parser

    def take_action(self, parsed_args):
        jobs = self.app.client().list_jobs(
            state=parsed_args.state, limit=parsed_args.limit,
            marker=parsed_args.marker,
            all_projects=parsed_args.all_projects)
        columns = ('id', 'state', 'exit_code', 'git_url', 'ref', 'cmd',
                   'project_id', 'created_at')
        rows = [tuple(dict(j, **j['spec']).get(c) for c in columns)
                for j in jobs]
        return columns, rows


class JobLogs(ControllerCommand, command.Command):
    """Print a job's log; with --follow, until the job ends."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('job_id', help='job id')
        parser.add_argument('--follow', action='store_true',
                            help='keep printing until the job ends')
        return parser

    def take_action(self, parsed_args):
        api = self.app.client()
        out = self.app.stdout
        if parsed_args.follow:
            common.follow(api, parsed_args.job_id, out)
            return 0
        offset = 0
        while True:
            chunk = api.get_log(parsed_args.job_id, offset)
            out.write(chunk['data'])
            if not chunk['data']:
                break
            offset = chunk['offset']
        out.flush()
        return 0
