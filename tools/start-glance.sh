#!/bin/bash
# Install (once, in its own virtualenv) and start a real Glance for the
# functional tests: glance-api under gunicorn on 127.0.0.1, sqlite and the
# file store. Prints its URL. Safe to run again: a Glance already answering
# is kept. BUILDFARM_GLANCE_SIZE_CAP (bytes) makes Glance refuse bigger
# images; its pid is in the state directory's glance.pid.
# By default it has no Keystone (every request is an admin, port 19292);
# BUILDFARM_GLANCE_AUTH=keystone starts one behind the test Keystone
# (tools/start-keystone.sh, BUILDFARM_KEYSTONE_URL) on port 19293, which
# checks tokens with keystonemiddleware as user glance.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=${BUILDFARM_GLANCE_ROOT:-/tmp/buildfarm-glance}
AUTH=${BUILDFARM_GLANCE_AUTH:-noauth}
KEYSTONE=${BUILDFARM_KEYSTONE_URL:-http://127.0.0.1:15000}
case $AUTH in
    noauth) PORT=${BUILDFARM_GLANCE_PORT:-19292} ;;
    keystone) PORT=${BUILDFARM_GLANCE_PORT:-19293} ;;
    *) echo "BUILDFARM_GLANCE_AUTH: noauth or keystone, not $AUTH" >&2
       exit 2 ;;
esac
URL=http://127.0.0.1:$PORT
VENV=$ROOT/venv
STATE=$ROOT/state-$PORT

if curl -sf -m 2 -o /dev/null "$URL/healthcheck"; then
    echo "$URL"
    exit 0
fi
if [ ! -x "$VENV/bin/gunicorn" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check glance gunicorn \
        2>&1 | grep -v '^WARNING: Location' >&2 || true
fi
rm -rf "$STATE"
mkdir -p "$STATE"/{images,staging,tasks,lock}
sed "s#@STATE@#$STATE#g" "$HERE/glance/glance-api.conf.in" \
    >"$STATE/glance-api.conf"
if [ -n "${BUILDFARM_GLANCE_SIZE_CAP:-}" ]; then
    sed -i "s/^\[DEFAULT\]$/&\nimage_size_cap = $BUILDFARM_GLANCE_SIZE_CAP/" \
        "$STATE/glance-api.conf"
fi
cp "$HERE/glance/glance-api-paste.ini" "$STATE/"
if [ "$AUTH" = keystone ]; then
    sed -i 's/^flavor =$/flavor = keystone/' "$STATE/glance-api.conf"
    sed "s#@KEYSTONE@#$KEYSTONE#g" "$HERE/glance/keystone.conf.in" \
        >>"$STATE/glance-api.conf"
    # Glance's own default policies: the roles of the token decide.
    echo '{}' >"$STATE/policy.yaml"
else
    cp "$HERE/glance/policy.yaml" "$STATE/"
fi
"$VENV/bin/glance-manage" --config-file "$STATE/glance-api.conf" db_sync \
    >"$STATE/db_sync.log" 2>&1
# Glance has no standalone server any more; --no-control-socket keeps
# gunicorn from writing to ~/.gunicorn.
(OS_GLANCE_CONFIG_DIR=$STATE setsid "$VENV/bin/gunicorn" \
    --no-control-socket --bind "127.0.0.1:$PORT" --workers 1 --threads 4 \
    --timeout 600 --pid "$STATE/glance.pid" glance.wsgi.api:application \
    >"$STATE/glance-api.log" 2>&1 &)
for _ in $(seq 1 300); do
    curl -sf -m 2 -o /dev/null "$URL/healthcheck" && break
    sleep 0.2
done
# Without a token, the Keystone one must refuse (401).
expect=200
[ "$AUTH" = keystone ] && expect=401
[ "$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$URL/v2/images")" = \
    "$expect" ] || {
    tail -30 "$STATE/glance-api.log" >&2
    exit 1
}
echo "$URL"
