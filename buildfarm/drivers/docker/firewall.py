"""The host's iptables rules that fence in the nodes of one bridge.

Two chains of our own per bridge, jumped to for packets that come in on
that bridge:

- from DOCKER-USER (forwarded packets): nothing to another node of the
  bridge, nothing to a blocked address, nothing to a port this host
  publishes for a container unless it is allowed;
- from INPUT (packets for this host itself): only the allowed TCP ports
  and the replies of connections the host opened; nothing to a blocked
  address (a metadata proxy may live on the host).

Chain contents are replaced atomically (iptables-restore), jumps are
added once, so installing again refreshes the rules; ``remove`` takes
everything away.
"""

import subprocess

from buildfarm import exception

_TIMEOUT = 30


def _run(args, stdin=None):
    try:
        return subprocess.run(args, input=stdin, capture_output=True,
                              text=True, timeout=_TIMEOUT)
    except FileNotFoundError:
        raise exception.DriverError(
            '%s is not installed on the controller\'s host: nodes on '
            '[docker] network_mode "isolated" cannot be fenced in. Install '
            'iptables, or choose another network_mode.' % args[0])


class Firewall:

    def __init__(self, bridge, blocked, allowed_ports, run=_run):
        """``bridge``: the interface name of the nodes' network;
        ``blocked``: CIDRs; ``allowed_ports``: TCP ports of this host."""
        self.bridge = bridge
        self.blocked = list(blocked)
        self.allowed_ports = sorted(set(allowed_ports))
        self._run = run
        # iptables limits chain names to 28 characters; a bridge's name
        # has at most 15.
        self.forward_chain = 'BF-FWD-' + bridge
        self.input_chain = 'BF-IN-' + bridge

    def _jumps(self):
        return [('DOCKER-USER', self.forward_chain),
                ('INPUT', self.input_chain)]

    def rules(self):
        """The iptables-restore text of both chains."""
        fwd, inp = self.forward_chain, self.input_chain
        lines = ['*filter', ':%s - [0:0]' % fwd, ':%s - [0:0]' % inp,
                 '-A %s -o %s -j DROP' % (fwd, self.bridge)]
        for cidr in self.blocked:
            lines.append('-A %s -d %s -j DROP' % (fwd, cidr))
        for port in self.allowed_ports:
            lines.append('-A %s -p tcp -m conntrack --ctstate DNAT '
                         '--ctorigdstport %d -j RETURN' % (fwd, port))
        lines.append('-A %s -m conntrack --ctstate DNAT -j DROP' % fwd)
        lines.append('-A %s -m conntrack --ctstate RELATED,ESTABLISHED '
                     '-j RETURN' % inp)
        for cidr in self.blocked:
            lines.append('-A %s -d %s -j DROP' % (inp, cidr))
        for port in self.allowed_ports:
            lines.append('-A %s -p tcp --dport %d -j RETURN' % (inp, port))
        lines += ['-A %s -j DROP' % inp, 'COMMIT', '']
        return '\n'.join(lines)

    def _iptables(self, *args, check=True):
        result = self._run(['iptables', '-w', *args])
        if check and result.returncode != 0:
            raise exception.DriverError(
                'iptables %s failed: %s' % (' '.join(args),
                                            result.stderr.strip()))
        return result.returncode == 0

    def install(self):
        """Install or refresh the rules; raise DriverError saying why
        they cannot be."""
        if not self._iptables('-n', '-L', 'DOCKER-USER', check=False):
            raise exception.DriverError(
                'The DOCKER-USER iptables chain is missing, or the '
                'controller may not read iptables rules: the Docker engine '
                'must run on this host and manage iptables, and the '
                'controller needs root or CAP_NET_ADMIN for [docker] '
                'network_mode "isolated".')
        result = self._run(['iptables-restore', '-w', '--noflush'],
                           stdin=self.rules())
        if result.returncode != 0:
            raise exception.DriverError(
                'Could not install the nodes\' iptables rules: %s'
                % result.stderr.strip())
        for chain, target in self._jumps():
            jump = (chain, '-i', self.bridge, '-j', target)
            if not self._iptables('-C', *jump, check=False):
                self._iptables('-I', chain, '1', *jump[1:])

    def installed(self):
        """Are both jumps to our chains in place?"""
        return all(self._iptables('-C', chain, '-i', self.bridge, '-j',
                                  target, check=False)
                   for chain, target in self._jumps())

    def remove(self):
        """Remove the jumps and the chains; idempotent."""
        for chain, target in self._jumps():
            while self._iptables('-D', chain, '-i', self.bridge, '-j',
                                 target, check=False):
                pass
        for _, target in self._jumps():
            if self._iptables('-F', target, check=False):
                self._iptables('-X', target, check=False)
