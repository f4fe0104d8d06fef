"""The user data of a node's server: cloud-init writes the agent's
configuration to a file only root can read, adds the extra CA if there is
one, and starts the agent's service."""

import base64
import dataclasses

import yaml

from buildfarm import exception

AGENT_CONF = '/etc/buildfarm-agent/agent.conf'
EXTRA_CA = '/usr/local/share/ca-certificates/buildfarm-node.crt'
SYSTEM_CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt'
# Nova refuses user data over 64 KiB, base64-encoded.
MAX_USER_DATA = 65535


def user_data(agent_conf, ca_bundle=None):
    """The base64-encoded cloud-config for a node whose agent gets
    ``agent_conf`` (an AgentConfig); ``ca_bundle``: the host path of the
    extra CA certificates the node must trust."""
    files = []
    runcmd = []
    if ca_bundle:
        with open(ca_bundle) as f:
            files.append({'path': EXTRA_CA, 'permissions': '0644',
                          'content': f.read()})
        runcmd.append(['update-ca-certificates'])
        agent_conf = dataclasses.replace(agent_conf,
                                         ca_bundle=SYSTEM_CA_BUNDLE)
    files.append({'path': AGENT_CONF, 'permissions': '0600',
                  'owner': 'root:root', 'content': agent_conf.render()})
    runcmd.append(['systemctl', 'start', '--no-block',
                   'buildfarm-agent.service'])
    text = '#cloud-config\n' + yaml.safe_dump(
        {'write_files': files, 'runcmd': runcmd}, sort_keys=False)
    encoded = base64.b64encode(text.encode()).decode()
    if len(encoded) > MAX_USER_DATA:
        raise exception.NodeBootError(
            'The node\'s user data is %d bytes base64-encoded, over Nova\'s '
            'limit of %d: point [node] ca_bundle at the extra CA '
            'certificates only, not a whole bundle.'
            % (len(encoded), MAX_USER_DATA))
    return encoded
