"""Running a job in a node: the workspace, the clone, commands run as the
job user, and repo_job (clone at the ref, run the command)."""

import json
import os
import pwd
import shutil
import time

from buildfarm.agent import cgroup
from buildfarm.agent import gitclone
from buildfarm.agent import process
from buildfarm import exception
from buildfarm import jobspec
from buildfarm import objects
from buildfarm import states

_CA_VARIABLES = ('GIT_SSL_CAINFO', 'PIP_CERT', 'REQUESTS_CA_BUNDLE',
                 'SSL_CERT_FILE', 'CURL_CA_BUNDLE', 'NODE_EXTRA_CA_CERTS')
_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'


def node_env(agent_conf):
    """Environment every job on this node gets, before its own ``env``."""
    env = {}
    if agent_conf.ca_bundle:
        env.update(dict.fromkeys(_CA_VARIABLES, agent_conf.ca_bundle))
    env.update(json.loads(agent_conf.job_env or '{}'))
    return env


class Outcome:
    """How a job's command ended."""

    def __init__(self, how, code, seconds, out_of_memory, out_of_pids):
        self.how, self.code, self.seconds = how, code, seconds
        self.out_of_memory, self.out_of_pids = out_of_memory, out_of_pids

    @property
    def succeeded(self):
        return self.how == process.EXITED and self.code == 0

    def report(self, report, what, timeout):
        """Fill ``report``'s (a Report) state, exit code and reason;
        ``what`` names the command in the reason ("The command")."""
        report.exit_code = self.code
        if self.how == process.TIMED_OUT:
            report.state, report.reason = states.TIMED_OUT, (
                '%s ran longer than the job\'s timeout of %d s; all its '
                'processes were stopped.' % (what, timeout))
        elif self.how == process.CANCELLED:
            report.state, report.reason = states.CANCELLED, (
                'Cancelled while %s ran; all its processes were stopped.'
                % (what[0].lower() + what[1:]))
        elif self.code == 0:
            report.state = states.SUCCEEDED
        elif self.out_of_memory:
            report.state, report.reason = states.FAILED, (
                '%s exited with status %d: the kernel killed a process of '
                'the job for using more memory than the node has (its '
                'memory limit).' % (what, self.code))
        else:
            report.state, report.reason = states.FAILED, (
                '%s exited with status %d.' % (what, self.code))
        if self.out_of_pids and report.reason:
            report.reason += (' The job hit the node\'s process limit '
                              '(pids_limit): processes could not fork.')
        return report


class JobRunner:
    """Runs one job in this node: what every kind of job does (a
    workspace, a clone, commands run as the job user). Subclasses
    implement ``run``."""

    def __init__(self, conf, job, log, cancel_event, wait_ready=None):
        """``job``: a JobMessage; ``wait_ready()`` returns once the
        command may start."""
        self.conf = conf.agent
        self.wait_ready = wait_ready or (lambda: None)
        self.job = job
        self.job_id = job.id
        self.spec = job.spec
        self.log = log
        self.cancel_event = cancel_event
        self.workdir = os.path.join(self.conf.workspace, self.job_id)
        self.src = os.path.join(self.workdir, 'src')
        self.home = os.path.join(self.workdir, 'home')
        self.user = self._job_user()

    def _job_user(self):
        """The passwd entry to run commands as: [agent] job_user's, or for
        a numeric job_user (the local driver gives each node a uid of its
        own, with no passwd entry) one made up with that uid as its group
        and the job's home; None when this agent cannot switch users."""
        if os.geteuid() != 0:
            return None  # cannot switch: jobs run as the agent's user
        job_user = self.conf.job_user
        if job_user.isdigit():
            uid = int(job_user)
            user = pwd.struct_passwd(
                (job_user, 'x', uid, uid, '', self.home, '/bin/sh'))
        else:
            try:
                user = pwd.getpwnam(job_user)
            except KeyError:
                raise exception.BuildfarmError(
                    'The job user %r does not exist on this node; create '
                    'it in the worker image or set [agent] job_user.'
                    % job_user)
        if user.pw_uid == 0:
            raise exception.BuildfarmError(
                'The job user %r is root: jobs must run as an unprivileged '
                'user; set [agent] job_user.' % job_user)
        return user

    def environment(self):
        env = {'PATH': _PATH, 'HOME': self.home, 'LANG': 'C.UTF-8',
               'BUILDFARM_JOB_ID': self.job_id}
        if self.user is not None:
            env.update(USER=self.user.pw_name, LOGNAME=self.user.pw_name)
        env.update(node_env(self.conf))
        env.update(self.spec.env or {})
        env.update(self.spec.secret_env or {})
        return env

    def give_to_job_user(self, *paths):
        if self.user is None:
            return
        for top in paths:
            os.chown(top, self.user.pw_uid, self.user.pw_gid)
            for root, dirs, files in os.walk(top):
                for name in dirs + files:
                    os.lchown(os.path.join(root, name),
                              self.user.pw_uid, self.user.pw_gid)

    def new_report(self):
        return objects.Report()

    def clone(self, report):
        """Clone into ``self.src``; False (with the reason in the
        report) if that failed."""
        os.makedirs(self.home)
        # The job user must be able to reach its directories, nothing more.
        os.chmod(self.conf.workspace, 0o711)
        os.chmod(self.workdir, 0o711)
        self.log.note('cloning %s at %s' % (
            jobspec.redact_url(self.spec.git_url),
            self.spec.ref or 'the default branch'))
        start = time.monotonic()
        try:
            report.commit = gitclone.clone(
                self.spec.git_url, self.spec.ref, self.src,
                self.conf.clone_timeout, env=node_env(self.conf))
        except exception.CloneError as e:
            report.reason = str(e)
            self.log.note(report.reason)
            return False
        report.record('clone', time.monotonic() - start)
        self.log.note('checked out %s' % report.commit)
        return True

    def may_start(self, report):
        """Wait until commands may run; False (and the report says why)
        if the job was cancelled meanwhile."""
        self.wait_ready()
        if self.cancel_event.is_set():
            report.state = states.CANCELLED
            report.reason = 'Cancelled before the command started.'
            return False
        return True

    def run_command(self, cmd, cwd, timeout):
        """Run ``cmd`` as the job user, its output into the log."""
        command = process.Command(
            cmd, cwd, self.environment(), self.log.write, user=self.user,
            kill_grace=self.conf.kill_grace)
        start = time.monotonic()
        oom_before = cgroup.oom_kills()
        forks_before = cgroup.pids_limit_hits()
        how, code = command.run(timeout, self.cancel_event)
        out_of_memory = (oom_before is not None and
                         cgroup.oom_kills() != oom_before)
        out_of_pids = (forks_before is not None and
                       cgroup.pids_limit_hits() != forks_before)
        if code < 0:  # killed by a signal: report it as a shell would
            code = 128 - code
        return Outcome(how, code, time.monotonic() - start, out_of_memory,
                       out_of_pids)

    def run(self):
        """Return the final report (a Report)."""
        raise NotImplementedError

    def cleanup(self):
        shutil.rmtree(self.workdir, ignore_errors=True)


class RepoJobRunner(JobRunner):
    """Runs a repo_job: clone at the ref, run the command."""

    def run(self):
        report = self.new_report()
        if not self.clone(report) or not self.may_start(report):
            return report
        self.give_to_job_user(self.src, self.home)
        self.log.note('running: %s' % self.spec.cmd)
        outcome = self.run_command(self.spec.cmd, self.src,
                                   self.spec.timeout)
        report.record('run', outcome.seconds)
        outcome.report(report, 'The command', self.spec.timeout)
        self.log.note('%s after %.1f s (exit status %s)' % (
            report.state, outcome.seconds, outcome.code))
        return report
