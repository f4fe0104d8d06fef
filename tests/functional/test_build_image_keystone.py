"""A build_image job on a real Docker node whose controller uploads with
[build_image] cloud: the Glance behind the real test Keystone, a minted
upload credential, never the controller's own token on the node.

Run it with a worker image of this tree's agent (BUILDFARM_TEST_IMAGE).
"""

import json
import time
import uuid

from buildfarm.controller import upload_credentials
from buildfarm import states
from tests.functional import conftest
from tests.functional import test_build_image


def test_a_build_uploads_with_a_minted_credential_only(
        tmp_path, make_vhost, docker_client, git_server, keystone,
        keystone_glance, monkeypatch):
    monkeypatch.setenv('OS_CLIENT_CONFIG_FILE', keystone.clouds_yaml)
    conf = conftest.controller_conf(
        tmp_path, make_vhost(), 'bf-test-%s' % uuid.uuid4().hex[:8], {
            ('build_image', 'image_endpoint'): None,
            ('build_image', 'cloud'): 'buildfarm-controller'})
    farm = conftest.Farm(conf, docker_client)
    messages = []
    job_message = farm.service.lifecycle.job_message

    def recorded(job):
        message = job_message(job)
        messages.append(message)
        return message

    monkeypatch.setattr(farm.service.lifecycle, 'job_message', recorded)
    cloud = keystone_glance['controller']
    image_id = None
    try:
        url, commit, _ = test_build_image._sample_app(git_server, 'python')
        name = 'bf-test-keystone-%s' % uuid.uuid4().hex[:6]
        job = farm.api.build_image({'git_url': url, 'image_name': name})
        job = farm.wait(job['id'], timeout=300)
        image_id = job['image_id']
        assert job['state'] == states.SUCCEEDED, job['reason']

        image = cloud.image.get_image(image_id)
        assert (image.name, image.status) == (name, 'active')
        assert image.owner == cloud.current_project_id
        assert image.properties['commit_sha'] == commit
        assert image.properties['build_id'] == job['id']
        assert image.properties['language_pack'] == 'python'

        controller_token = farm.service.uploads._connection().auth_token
        assert messages
        for message in messages:
            assert message['upload']['endpoint'] == keystone_glance['url']
            assert message['upload']['image_id'] == image_id
            assert message['upload']['token'] != controller_token
            assert controller_token not in json.dumps(message)
        token = messages[-1]['upload']['token']
        assert token not in farm.log(job['id'])
        # The job's credential goes (in the controller's release worker),
        # and with it the token.
        deadline = time.monotonic() + 30
        while [c for c in cloud.identity.application_credentials(
                cloud.current_user_id)
               if upload_credentials.job_of(c.name) == job['id']]:
            assert time.monotonic() < deadline, 'the credential stayed'
            time.sleep(0.5)
        answer = cloud.session.get(
            keystone.url + '/v3/auth/tokens', raise_exc=False,
            headers={'X-Subject-Token': token})
        assert answer.status_code == 404
        farm.assert_no_container_left()
    finally:
        farm.stop()
        if image_id:
            cloud.image.delete_image(image_id, ignore_missing=True)
