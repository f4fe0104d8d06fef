#!/bin/bash
# Make a broker account for a controller's callers (the CLI, Mistral) on
# the controller's vhost ([DEFAULT] transport_url), with permissions that
# allow what an oslo.messaging RPC client needs and nothing more: declare
# and consume its own reply queues (reply_<hex>), declare and publish to
# the control exchange with the controller's topic as routing key. It may
# not read, bind to or declare the controller's queues (<topic>,
# <topic>.<server>, <topic>_fanout_*) or any other: an account that could
# would get calls, and the Keystone token each one carries.
#
#   tools/rabbitmq-caller-account.sh VHOST CALLER_USER PASSWORD \
#       [CONTROLLER_TOPIC]
#
# CONTROLLER_TOPIC: [controller] topic (default buildfarm-controller).
# Then callers: transport_url = rabbit://CALLER_USER:PASSWORD@HOST:5672/VHOST
set -euo pipefail
vhost=$1 user=$2 password=$3 topic=${4:-buildfarm-controller}
exchange=buildfarm   # oslo.messaging's control exchange for buildfarm
ctl() { rabbitmqctl -q "$@"; }

# The regexes below match the control exchange and reply_<hex> by name,
# queues and exchanges alike: a topic of either shape would be granted.
if [[ ! $topic =~ ^[A-Za-z0-9_-]+$ || $topic == "$exchange" \
      || $topic == reply_* ]]; then
    echo "CONTROLLER_TOPIC: $topic: not a usable topic name" >&2
    exit 2
fi
if ! ctl list_vhosts name | grep -qxF "$vhost"; then
    echo "VHOST: $vhost: no such vhost (the controller's, of its" \
        "transport_url)" >&2
    exit 2
fi
ctl add_user "$user" "$password"
# Configure: oslo.messaging declares the exchange before its first
# publish. Read: never the exchange, or the account could bind a queue
# (or an alternate exchange) to it and receive every call.
ctl set_permissions -p "$vhost" "$user" \
    "^($exchange|reply_[0-9a-f]+)\$" "^$exchange\$" '^reply_[0-9a-f]+$'
# Publish only with the controller's topic as key (not its agents').
ctl set_topic_permissions -p "$vhost" "$user" "$exchange" \
    "^$topic(\\..+)?\$" '^$'
