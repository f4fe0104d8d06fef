"""What a buildfarm action gives a Mistral workflow: a job's outcome as a
JSON object it can branch on. Shared by the actions (synchronous) and the
controller (asynchronous completion); free of Mistral imports."""

from buildfarm import states

FIELDS = ('kind', 'state', 'exit_code', 'commit', 'image_id', 'reason',
          'log_path', 'timings')


def action_result(job):
    result = {name: job.get(name) for name in FIELDS}
    result['job_id'] = job['id']
    return result


def succeeded(job):
    return job['state'] == states.SUCCEEDED
