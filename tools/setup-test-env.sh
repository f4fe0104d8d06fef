#!/bin/bash
# Install and start what the tests need on a Debian 12 machine (as root):
# RabbitMQ, a Docker engine, git, tox, a Keystone, two Glances (one
# without Keystone, one behind it), a Nova (fake virt driver, MariaDB) and
# a Mistral (with buildfarm's actions); build the
# base, runtime and worker images, and the VM worker image
# (diskimage-builder, QEMU). Safe to run again: whatever is already there
# is kept.
set -euo pipefail
cd "$(dirname "$0")/.."
LOGS=${BUILDFARM_TEST_LOGS:-/tmp/buildfarm-test-services}
mkdir -p "$LOGS"

step() { echo "== $* ($(date +%T))"; }

need=()
for cmd in rabbitmq-server dockerd debootstrap git curl mariadbd; do
    command -v "$cmd" >/dev/null || need+=("$cmd")
done
if [ ${#need[@]} -gt 0 ]; then
    step "installing rabbitmq-server docker.io debootstrap git curl mariadb-server"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        rabbitmq-server docker.io debootstrap git curl mariadb-server \
        >"$LOGS/apt.log"
fi

if ! rabbitmqctl -q status >/dev/null 2>&1; then
    step "starting RabbitMQ"
    (setsid rabbitmq-server >"$LOGS/rabbitmq.log" 2>&1 &)
    # await_startup fails at once while the Erlang node is not up yet.
    for _ in $(seq 1 120); do
        rabbitmqctl -q status >/dev/null 2>&1 && break
        sleep 1
    done
fi
timeout 120 rabbitmqctl -q await_startup || {
    tail -30 "$LOGS/rabbitmq.log"
    exit 1
}

if ! docker info >/dev/null 2>&1; then
    step "starting dockerd"
    (setsid dockerd >"$LOGS/dockerd.log" 2>&1 &)
    for _ in $(seq 1 60); do
        docker info >/dev/null 2>&1 && break
        sleep 1
    done
fi
docker info >/dev/null

step "installing buildfarm and tox"
python3 -m pip install -q --disable-pip-version-check -e . tox \
    2>&1 | grep -v -e '^WARNING: Location' -e 'as the .root. user' || true

BASE=${BUILDFARM_BASE_IMAGE:-}
if [ -z "$BASE" ]; then
    if docker image inspect debian:bookworm-slim >/dev/null 2>&1; then
        BASE=debian:bookworm-slim
    else
        # No registry here: build the base image with debootstrap.
        step "building the base image offline"
        BASE=buildfarm-base:bookworm
        tools/build-base-image.sh "$BASE"
    fi
fi

step "building the worker image from $BASE"
buildfarm image build --format docker --base-image "$BASE" \
    >"$LOGS/worker-image.log" 2>&1 || {
    tail -30 "$LOGS/worker-image.log"
    exit 1
}
step "starting Glance"
tools/start-glance.sh
step "starting Keystone"
tools/start-keystone.sh
step "starting the Glance behind Keystone"
BUILDFARM_GLANCE_AUTH=keystone tools/start-glance.sh
step "starting Nova"
tools/start-nova.sh
step "starting Mistral"
tools/start-mistral.sh
step "building the VM worker image"
tools/build-vm-image.sh
step "test environment ready"
