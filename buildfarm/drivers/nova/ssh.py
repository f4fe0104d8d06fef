"""SSH to a node (paramiko): the host-key scan that shows its system is
up, and the collection of its agent's logs when it fails to register.

Only the controller holds the private key; the node's host key, once
scanned, is the only one accepted afterwards.
"""

import base64
import logging
import socket

import paramiko

# The default user of a cloud-init image is in group adm, which may read
# cloud-init's output log and the journal (never agent.conf). The journal
# comes last: the tail kept is the agent's.
AGENT_LOGS = ('tail --lines 50 /var/log/cloud-init-output.log; '
              'journalctl --no-pager --lines 200 --unit '
              'buildfarm-agent.service')
# A node that is not up yet makes paramiko log errors with tracebacks.
SCAN_LOG = 'paramiko.buildfarm-scan'
logging.getLogger(SCAN_LOG).setLevel(logging.CRITICAL)


def scan_host_key(host, port, timeout):
    """The SSH host key of host:port as "type base64", or None while no
    SSH server answers there."""
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError:
        return None
    transport = paramiko.Transport(sock)
    transport.set_log_channel(SCAN_LOG)
    transport.banner_timeout = timeout
    try:
        transport.start_client(timeout=timeout)
        key = transport.get_remote_server_key()
        return '%s %s' % (key.get_name(), key.get_base64())
    except (paramiko.SSHException, OSError, EOFError):
        return None
    finally:
        transport.close()


def run(host, port, user, key_file, host_key, command, timeout):
    """Run ``command`` on the node as ``user``, authenticated by the
    private key in ``key_file``, trusting ``host_key`` alone; return its
    output (stdout and stderr)."""
    client = paramiko.SSHClient()
    key_type, key_data = host_key.split()
    client.get_host_keys().add(
        host if port == 22 else '[%s]:%d' % (host, port), key_type,
        paramiko.PKey.from_type_string(key_type, base64.b64decode(key_data)))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        client.connect(host, port=port, username=user, key_filename=key_file,
                       timeout=timeout, banner_timeout=timeout,
                       auth_timeout=timeout, allow_agent=False,
                       look_for_keys=False)
        channel = client.get_transport().open_session(timeout=timeout)
        channel.settimeout(timeout)
        channel.set_combine_stderr(True)
        channel.exec_command(command)
        return channel.makefile('rb').read().decode(errors='replace')
    finally:
        client.close()
