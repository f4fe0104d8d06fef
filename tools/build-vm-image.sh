#!/bin/bash
# Build the VM worker image for the VM test (as root, Debian 12): the host
# packages diskimage-builder and QEMU need, diskimage-builder in its own
# virtualenv, then "buildfarm image build --format qcow2" with the
# mirrors of this machine's apt sources. The image is rebuilt only when
# the agent or the elements changed.
# Usage: build-vm-image.sh [OUTPUT]   (default /tmp/buildfarm-vm/buildfarm-worker)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-/tmp/buildfarm-vm/buildfarm-worker}
DIB_VENV=${BUILDFARM_DIB_VENV:-/tmp/buildfarm-dib/venv}
SOURCES=/etc/apt/sources.list.d/debian.sources
mkdir -p "$(dirname "$OUT")"

need=()
for cmd in sudo qemu-img qemu-system-x86_64 mkfs.vfat mcopy socat debootstrap; do
    command -v "$cmd" >/dev/null || need+=("$cmd")
done
if [ ${#need[@]} -gt 0 ]; then
    echo "== installing sudo qemu-utils qemu-system-x86 dosfstools mtools socat"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends sudo qemu-utils qemu-system-x86 dosfstools \
        mtools socat debootstrap >/dev/null
fi
if [ ! -x "$DIB_VENV/bin/disk-image-create" ]; then
    echo "== installing diskimage-builder into $DIB_VENV"
    python3 -m venv "$DIB_VENV"
    "$DIB_VENV/bin/pip" install -q --disable-pip-version-check \
        diskimage-builder
fi

stamp=$( (git ls-files -s buildfarm elements setup.cfg etc/buildfarm;
          git diff HEAD -- buildfarm elements setup.cfg etc/buildfarm) |
        sha1sum | cut -c1-16)
if [ -f "$OUT.qcow2" ] && [ "$(cat "$OUT.stamp" 2>/dev/null)" = "$stamp" ]; then
    echo "== VM worker image $OUT.qcow2 is up to date"
    exit 0
fi

uris=$(awk '/^URIs:/{for(i=2;i<=NF;i++)print $i}' "$SOURCES" 2>/dev/null || true)
mirror=$(echo "$uris" | grep -E '/debian/?$' | head -1 || true)
security=$(echo "$uris" | grep -E '/debian-security/?$' | head -1 || true)
conf=$(dirname "$OUT")/image.conf
{
    echo "[image]"
    echo "disk_image_create = $DIB_VENV/bin/disk-image-create"
    [ -z "$mirror" ] || echo "debian_mirror = ${mirror%/}"
    [ -z "$security" ] || echo "debian_security_mirror = ${security%/}"
} >"$conf"

echo "== building the VM worker image $OUT.qcow2 ($(date +%T))"
log=$OUT.log
export DIB_DEBIAN_USE_DEBOOTSTRAP_CACHE=1
# --source: this checkout's elements and agent (the ones stamped above),
# whichever checkout the buildfarm command was installed from.
if ! PATH=$PATH:$DIB_VENV/bin buildfarm --config-file "$conf" image build \
        --source "$PWD" --format qcow2 --tag "$OUT" >"$log" 2>&1; then
    tail -40 "$log"
    exit 1
fi
echo "$stamp" >"$OUT.stamp"
echo "== built $OUT.qcow2 ($(date +%T))"
