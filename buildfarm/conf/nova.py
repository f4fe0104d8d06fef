"""Options of the nova driver: nodes are Nova servers of the worker VM
image. A label's ``nova:`` settings in the pools file override them."""

from oslo_config import cfg

GROUP = 'nova'

opts = [
    cfg.StrOpt('cloud',
               help='Name of the cloud in clouds.yaml (its secrets may be '
                    'in secure.yaml, as openstacksdk allows).'),
    cfg.StrOpt('image', default='buildfarm-worker',
               help='Name or id of the worker VM image in Glance ("buildfarm '
                    'image build --format qcow2 --upload").'),
    cfg.StrOpt('flavor', help='Name or id of the flavor of nodes.'),
    cfg.ListOpt('networks', default=['auto'],
                help='Names or ids of the networks of nodes, or "auto" '
                     '(Nova picks one) or "none".'),
    cfg.StrOpt('key_name',
               help='Key pair put on nodes, for debugging held nodes.'),
    cfg.ListOpt('security_groups', default=[],
                help='Security groups of nodes (Nova\'s default if none).'),
    cfg.StrOpt('availability_zone', help='Availability zone of nodes.'),
    cfg.BoolOpt('config_drive', default=True,
                help='Give nodes a config drive: cloud-init of the worker VM '
                     'image reads the agent\'s configuration from it at boot '
                     'and does not ask the metadata service. Turn it off '
                     'only for a cloud without config drives; the image '
                     'lets only root reach the metadata service either '
                     'way.'),
    cfg.IntOpt('boot_volume_size', default=0, min=0,
               help='Boot from a new volume of this many GiB, deleted with '
                    'the node; 0 boots from the image on local disk.'),
    cfg.StrOpt('ssh_key_file',
               help='Private key of the key pair key_name. With it, when a '
                    'node fails before its agent registers, the controller '
                    'collects the agent\'s logs over SSH and keeps them with '
                    'the attempt.'),
    cfg.StrOpt('ssh_user', default='debian',
               help='User to log in as with ssh_key_file (the image\'s '
                    'cloud-init default user).'),
    cfg.PortOpt('ssh_port', default=22, help='SSH port of nodes.'),
    cfg.BoolOpt('ssh_check', default=False,
                help='Once a node\'s server is ACTIVE, scan its SSH host '
                     'key until it answers: a node whose SSH answers gets '
                     'register_timeout more seconds for its agent to '
                     'register, past the label\'s boot_timeout (for images '
                     'whose agent starts late). The scanned key is the only '
                     'one log collection trusts.'),
    cfg.IntOpt('register_timeout', default=300, min=1,
               help='With ssh_check: seconds the agent of a node whose SSH '
                    'answered has to register.'),
    cfg.IntOpt('delete_timeout', default=120, min=1,
               help='Seconds to wait for Nova to confirm a deletion; a '
                    'node not gone by then is deleted again later.'),
]


def register_opts(conf):
    conf.register_opts(opts, group=GROUP)


def list_opts():
    return {GROUP: opts}
