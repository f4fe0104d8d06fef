"""Completes the Mistral action executions of asynchronous buildfarm
actions when their jobs end (``PUT /v2/action_executions/<id>``).

What is due lives in the job store (a job's ``callback`` and
``callback_sent_at``), so a restarted controller or an unreachable
Mistral loses nothing: the sender retries until Mistral has the result.
"""

import json
import logging
import threading
import time
import urllib.parse

from buildfarm.controller import validation
from buildfarm.db import api as db_api
from buildfarm.mistral import results

LOG = logging.getLogger(__name__)

# Answers that may change without the job changing: Mistral busy or down,
# or the controller's credentials refused (fixed by the operator).
RETRIED_STATUSES = (401, 403, 408, 429)


class MistralCallbacks:

    def __init__(self, conf, store):
        self.conf = conf.mistral
        self.store = store
        self._stop = threading.Event()
        self._retry_at = {}
        self._endpoint = None  # (request, API root), made on first use
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name='mistral-callbacks')

    def start(self):
        # Without Mistral, no job can have a callback (submission refuses
        # them): nothing to do.
        if self.conf.url or self.conf.cloud:
            self._thread.start()

    def stop(self):
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self):
        while not self._stop.wait(1):
            try:
                due = self.store.callbacks_due()
            except Exception:
                LOG.exception('Cannot read the jobs due to be reported to '
                              'Mistral.')
                due = []
            for job in due:
                if self._retry_at.get(job['id'], 0) > time.monotonic():
                    continue
                try:
                    self._send(job)
                except Exception:
                    LOG.exception('Job %s: cannot report it to Mistral.',
                                  job['id'])

    def _client(self):
        """(request(method, url, **kwargs), API root): a keystoneauth
        session with [mistral] cloud, else plain requests."""
        if self._endpoint is None:
            if self.conf.cloud:
                import openstack  # late: only Mistral callbacks need it
                session = openstack.connect(cloud=self.conf.cloud).session
                url = self.conf.url or session.get_endpoint(
                    service_type='workflowv2', interface='public')

                def request(method, url, **kwargs):
                    return session.request(url, method, raise_exc=False,
                                           **kwargs)
            else:
                import requests
                request, url = requests.Session().request, self.conf.url
            if not url:
                raise ValueError('[mistral] url is not set and no cloud '
                                 'catalog names Mistral')
            self._endpoint = (request, url.rstrip('/'))
        return self._endpoint

    def _owned(self, request, target, job):
        """None if the job's project may complete the execution at
        ``target``; else Mistral's answer, or a refusal of our own.

        The controller's credentials may reach every project's
        executions: a caller must not aim them at another project's.
        Without authentication jobs have no project, and nothing is
        checked.
        """
        if not job.get('project_id'):
            return None
        answer = request('GET', target, timeout=self.conf.timeout)
        if answer.status_code != 200:
            return answer
        owner = answer.json().get('project_id')
        if owner == job['project_id']:
            return None
        return _Refusal('the action execution belongs to project %s, not '
                        'to the job\'s project %s' % (owner,
                                                      job['project_id']))

    def _send(self, job):
        execution_id = (job['callback'] or {}).get(
            'mistral_action_execution_id')
        if not validation.is_uuid(execution_id):
            # Submission takes UUIDs only; a stored id of another shape
            # could aim the request at another resource: never sent.
            LOG.error('Job %s: its Mistral action execution id %r is not a '
                      'UUID; the result is not sent.', job['id'],
                      str(execution_id)[:80])
            self.store.update_job(job['id'], callback_sent_at=db_api.utcnow())
            return
        ok = results.succeeded(job)
        body = {'state': 'SUCCESS' if ok else 'ERROR',
                'output': json.dumps(results.action_result(job))}
        try:
            request, url = self._client()
            target = '%s/action_executions/%s' % (
                url, urllib.parse.quote(execution_id, safe=''))
            answer = self._owned(request, target, job)
            if answer is None:
                answer = request('PUT', target, json=body,
                                 timeout=self.conf.timeout)
            status = answer.status_code
        except Exception as e:
            status, answer = None, e
        if status is None or status >= 500 or status in RETRIED_STATUSES:
            LOG.warning('Job %s: cannot complete Mistral action execution '
                        '%s yet (%s); retrying in %d s.', job['id'],
                        execution_id, answer if status is None else
                        '%d %s' % (status, answer.text[:300]),
                        self.conf.retry_interval)
            self._retry_at[job['id']] = (time.monotonic() +
                                         self.conf.retry_interval)
            return
        if isinstance(answer, _Refusal):
            LOG.error('Job %s: not completing Mistral action execution %s: '
                      '%s.', job['id'], execution_id, answer.text)
        elif status >= 400:
            # Mistral will never take it (e.g. the execution is gone or
            # already complete): retrying would not help.
            LOG.error('Job %s: Mistral refused the result for action '
                      'execution %s: %d %s', job['id'], execution_id,
                      status, answer.text[:500])
        else:
            LOG.info('Job %s: Mistral action execution %s completed (%s).',
                     job['id'], execution_id, body['state'])
        self._retry_at.pop(job['id'], None)
        self.store.update_job(job['id'], callback_sent_at=db_api.utcnow())


class _Refusal:
    """In place of Mistral's answer: the controller will not send this
    result, ever."""

    status_code = 400

    def __init__(self, text):
        self.text = text
