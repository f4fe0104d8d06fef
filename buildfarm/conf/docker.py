from oslo_config import cfg
from oslo_config import types

GROUP = 'docker'

opts = [
    cfg.StrOpt('image', default='buildfarm-worker:latest',
               help='Worker image that every container node boots from. '
                    'Build it with "buildfarm image build --format '
                    'docker".'),
    cfg.StrOpt('base_url', default='unix:///var/run/docker.sock',
               help='Docker engine API address used by the controller. '
                    'Nodes never see it.'),
    cfg.StrOpt('network_mode', default='isolated',
               help='Network of node containers. "isolated" (the default): '
                    'the network named by [docker] network, which the '
                    'controller creates and guards with iptables rules, '
                    'so that nodes reach neither each other, nor '
                    '[docker] blocked_addresses, nor ports of this host '
                    'other than [docker] allowed_host_ports and the '
                    'broker\'s. It needs the Docker engine on this host '
                    'and a controller allowed to change iptables rules '
                    '(root or CAP_NET_ADMIN). Otherwise Docker\'s own: '
                    'bridge, host or the name of a user-defined network; '
                    'nodes on those can reach other nodes, this host\'s '
                    'services and the cloud metadata address. Nodes must '
                    'reach the broker at [node] transport_url: on '
                    '"isolated", a loopback broker address in it is '
                    'replaced by the network\'s gateway (the broker must '
                    'listen there too); "host" is needed when the broker '
                    'listens only on 127.0.0.1.'),
    cfg.StrOpt('network', default='buildfarm-nodes',
               help='Name of the Docker network of nodes on network_mode '
                    '"isolated". Created if missing, with containers '
                    'unable to talk to each other (enable_icc=false); an '
                    'existing network of that name must be a bridge '
                    'network made so. Controllers with different '
                    '[docker] blocked_addresses or allowed_host_ports '
                    'need different networks.'),
    cfg.StrOpt('network_subnet',
               help='Subnet (CIDR) of the "isolated" network when the '
                    'controller creates it. Default: one Docker picks.'),
    cfg.ListOpt('blocked_addresses',
                default=['169.254.169.254/32', '169.254.0.0/16'],
                help='Addresses (CIDRs) that nodes on network_mode '
                     '"isolated" may never reach: the cloud metadata '
                     'service and link-local addresses by default. Add '
                     'the internal networks jobs have no business on.'),
    cfg.ListOpt('allowed_host_ports', item_type=types.Port(), default=[],
                help='TCP ports of this host that nodes on network_mode '
                     '"isolated" may reach (a git server, a package '
                     'mirror); every other port of this host is closed '
                     'to them. The ports of the brokers in [node] '
                     'transport_url are always allowed.'),
    cfg.ListOpt('node_mounts', default=[],
                help='Host directories mounted read-only, at the same '
                     'path, into every node ("buildfarm lp check" gives '
                     'nodes the language pack under test so). Every job '
                     'can read them: never secrets. A job\'s own file:// '
                     'repository is mounted into its node alone, without '
                     'this.'),
    cfg.StrOpt('memory_limit', default='2g',
               help='Memory limit of a node container (docker syntax, for '
                    'example 512m or 4g). What the node writes is memory '
                    'too (see disk_limit) and counts against it: give '
                    'build_image nodes room for the image they assemble.'),
    cfg.StrOpt('disk_limit', default='4g',
               help='Most a node may write in each of its writable '
                    'directories (docker syntax, for example 512m or 4g). '
                    'A node\'s root file system is read-only; what it may '
                    'write (its workspace, /tmp, /var/tmp) is tmpfs of '
                    'this size each, so a job gets "No space left on '
                    'device" there and never fills the host\'s disk. tmpfs '
                    'is memory charged to the container\'s memory cgroup '
                    '(cgroup v1 and v2 alike), so the node\'s processes '
                    'and files together stay under memory_limit; a job '
                    'that writes more than memory_limit allows is killed '
                    'as out of memory.'),
    cfg.FloatOpt('cpus', default=1.0, min=0.01,
                 help='CPUs a node container may use.'),
    cfg.IntOpt('pids_limit', default=1024, min=16,
               help='Maximum number of processes in a node container.'),
]


def register_opts(conf):
    conf.register_opts(opts, group=GROUP)


def list_opts():
    return {GROUP: opts}
