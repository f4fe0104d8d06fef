#!/bin/bash
# Make the broker vhost and account of a farm's nodes ([node] transport_url)
# on RabbitMQ, with permissions that allow what an agent needs and nothing
# more: its own queues (buildfarm-agent.<node>.<secret part>) and reply
# queues, publishing only to a controller's agent topic (<topic>-nodes),
# binding only to an agent key (never a wildcard). The controller's
# account gets the vhost in full.
#
#   tools/rabbitmq-node-account.sh VHOST NODE_USER NODE_PASSWORD \
#       CONTROLLER_USER
#
# Then: [node] transport_url = rabbit://NODE_USER:NODE_PASSWORD@HOST:5672/VHOST
set -euo pipefail
vhost=$1 user=$2 password=$3 controller=$4
exchange=buildfarm   # oslo.messaging's control exchange for buildfarm
ctl() { rabbitmqctl -q "$@"; }

ctl add_vhost "$vhost"
ctl add_user "$user" "$password"
ctl set_permissions -p "$vhost" "$controller" '.*' '.*' '.*'
own="^(buildfarm-agent(\.[0-9a-f-]+\.[0-9a-f]{32}|_fanout_[0-9a-f]+)?"
own+="|buildfarm-agent_fanout|reply_[0-9a-f]+|$exchange)\$"
# Not the fanout exchange: agents bind to it but never publish there.
write="^($exchange|buildfarm-agent(\.[0-9a-f-]+\.[0-9a-f]{32}|_fanout_[0-9a-f]+)?"
write+="|reply_[0-9a-f]+)\$"
ctl set_permissions -p "$vhost" "$user" "$own" "$write" "$own"
ctl set_topic_permissions -p "$vhost" "$user" "$exchange" \
    '^[A-Za-z0-9_-]+-nodes$' '^buildfarm-agent(\.[0-9a-f-]+\.[0-9a-f]{32})?$'
