export DIB_CLOUD_INIT_DATASOURCES=${DIB_CLOUD_INIT_DATASOURCES:-"ConfigDrive, OpenStack, NoCloud"}
# cloud-init alone writes the node's network (interfaces.d/50-cloud-init,
# with the NIC's real name). The debootstrap element's own eth0 and eth1
# stanzas name interfaces that do not exist (the NIC is ens3 or the like):
# "ifup -a" failed on them at every boot, so networking.service failed and
# systemd killed what it had started, dhclient included.
export DIB_APT_MINIMAL_CREATE_INTERFACES=0
# Addresses only root may reach in a node (space-separated addresses or
# prefixes): the cloud's metadata service, which hands out the user data.
export DIB_BUILDFARM_METADATA_ADDRESSES=${DIB_BUILDFARM_METADATA_ADDRESSES:-"169.254.0.0/16 fd00:ec2::254 fe80::a9fe:a9fe"}
