#!/bin/bash
# Install (once, in its own virtualenv) and start a real Keystone for the
# functional tests: keystone under gunicorn on 127.0.0.1, sqlite, fernet
# tokens, bootstrapped with the projects, users and roles the tests use
# (tools/keystone/populate.py; every password is secret-<user>) and the
# image service of the Keystone-protected Glance (tools/start-glance.sh
# with BUILDFARM_GLANCE_AUTH=keystone) in its catalog. Writes
# $STATE/clouds.yaml and the ready file (/tmp/keystone-ready: the URL and
# the clouds.yaml path); prints the URL. Safe to run again: a Keystone
# already answering is kept. "start-keystone.sh stop" stops it.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=${BUILDFARM_KEYSTONE_ROOT:-/tmp/buildfarm-keystone}
PORT=${BUILDFARM_KEYSTONE_PORT:-15000}
GLANCE_URL=${BUILDFARM_KEYSTONE_GLANCE_URL:-http://127.0.0.1:19293}
READY=${BUILDFARM_KEYSTONE_READY:-/tmp/keystone-ready}
URL=http://127.0.0.1:$PORT
VENV=$ROOT/venv
STATE=$ROOT/state-$PORT

stop() {
    [ -f "$STATE/keystone.pid" ] || return 0
    pid=$(cat "$STATE/keystone.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    rm -f "$STATE/keystone.pid"
}

if [ "${1:-}" = stop ]; then
    stop
    rm -f "$READY"
    exit 0
fi
if curl -sf -m 2 -o /dev/null "$URL/v3" && [ -f "$STATE/clouds.yaml" ]; then
    printf '%s\n%s\n' "$URL" "$STATE/clouds.yaml" >"$READY"
    echo "$URL"
    exit 0
fi
if [ ! -x "$VENV/bin/gunicorn" ] || [ ! -x "$VENV/bin/keystone-manage" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check keystone \
        gunicorn openstacksdk >"$ROOT/pip.log" 2>&1 || {
        tail -20 "$ROOT/pip.log" >&2
        exit 1
    }
fi
stop
rm -rf "$STATE"
mkdir -p "$STATE/lock"
sed "s#@STATE@#$STATE#g" "$HERE/keystone/keystone.conf.in" \
    >"$STATE/keystone.conf"
manage() {
    "$VENV/bin/keystone-manage" --config-file "$STATE/keystone.conf" "$@" \
        >>"$STATE/manage.log" 2>&1
}
manage db_sync
manage fernet_setup --keystone-user "$(id -un)" --keystone-group "$(id -gn)"
manage credential_setup --keystone-user "$(id -un)" \
    --keystone-group "$(id -gn)"
manage bootstrap --bootstrap-password secret-admin \
    --bootstrap-username admin --bootstrap-project-name admin \
    --bootstrap-role-name admin --bootstrap-service-name keystone \
    --bootstrap-region-id RegionOne --bootstrap-admin-url "$URL" \
    --bootstrap-internal-url "$URL" --bootstrap-public-url "$URL"
(OS_KEYSTONE_CONFIG_FILES=$STATE/keystone.conf \
    KEYSTONE_BIND=127.0.0.1:$PORT setsid "$VENV/bin/gunicorn" \
    --config "$HERE/keystone/gunicorn-keystone.py" \
    --pid "$STATE/keystone.pid" >"$STATE/gunicorn.log" 2>&1 &)
for _ in $(seq 1 300); do
    curl -sf -m 2 -o /dev/null "$URL/v3" && break
    sleep 0.2
done
curl -sf -m 2 -o /dev/null "$URL/v3" || {
    tail -30 "$STATE/gunicorn.log" "$STATE/keystone.log" >&2
    exit 1
}
"$VENV/bin/python" "$HERE/keystone/populate.py" "$URL" "$GLANCE_URL" \
    "$STATE/clouds.yaml"
printf '%s\n%s\n' "$URL" "$STATE/clouds.yaml" >"$READY"
echo "$URL"
