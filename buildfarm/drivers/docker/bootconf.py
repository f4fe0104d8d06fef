"""Handing the agent its configuration, readable by root in the node only.

The configuration (broker URL, node secret, boot job) never touches the
host's disk, an image layer, the environment or the container's inspect
data: the container starts with its stdin open, a shell running as root
writes stdin to a root-only (0700) tmpfs directory as a 0400 root file,
then becomes the agent. Ownership comes from the container, not from the
uid the controller runs as. The agent may delete the file once read.
"""

import socket

from buildfarm.drivers.docker import storage

AGENT_CONF = storage.AGENT_CONF_DIR + '/agent.conf'
# "$1": the file; umask 0377 makes it 0400 (in a subshell: the agent
# must keep the image's umask).
_SCRIPT = ('(umask 0377 && cat > "$1") && '
           'exec buildfarm-agent --config-file "$1"')
COMMAND = ['sh', '-c', _SCRIPT, 'buildfarm-node', AGENT_CONF]
# With stdin open and the container not detached, Docker closes the
# container's stdin when the one attached client ends its stream
# (StdinOnce), which ends "cat".
CONTAINER_KWARGS = {'stdin_open': True, 'detach': False}
_SEND_TIMEOUT = 30


def attach(client, container):
    """The stream of the created (not yet started) container's stdin."""
    return client.api.attach_socket(container.id,
                                    params={'stdin': 1, 'stream': 1})


def send(stream, text):
    """Write the configuration to the started container and end its
    stdin."""
    # docker's socket for a unix or TCP engine wraps the real socket.
    sock = getattr(stream, '_sock', stream)
    try:
        sock.settimeout(_SEND_TIMEOUT)
        sock.sendall(text.encode())
        sock.shutdown(socket.SHUT_WR)
    finally:
        stream.close()
