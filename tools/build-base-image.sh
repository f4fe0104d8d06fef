#!/bin/bash
# Build a minimal Debian bookworm base image offline with debootstrap and
# import it into the local Docker engine. Used where no image registry is
# reachable; elsewhere, build the worker image FROM debian:bookworm-slim.
#
# usage: tools/build-base-image.sh [IMAGE_NAME]   (default buildfarm-base:bookworm)
set -euo pipefail
NAME=${1:-buildfarm-base:bookworm}
if docker image inspect "$NAME" >/dev/null 2>&1; then
    echo "base image $NAME already present"
    exit 0
fi
# The mirror comes from this machine's apt sources, never from a constant.
MIRROR=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
if [ -z "$MIRROR" ]; then
    MIRROR=$(awk '$1 == "deb" && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
fi
: "${MIRROR:?cannot find a Debian mirror in the apt sources}"
ROOTFS=$(mktemp -d)
trap 'rm -rf "$ROOTFS"' EXIT
debootstrap --variant=minbase bookworm "$ROOTFS" "$MIRROR" >/dev/null
tar -C "$ROOTFS" -c . | docker import - "$NAME" >/dev/null
echo "imported $NAME"
