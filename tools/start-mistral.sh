#!/bin/bash
# Install (once, in its own virtualenv, with buildfarm's actions) and start
# a real Mistral for the functional tests: API, engine, executor and
# notifier in one mistral-server, SQLite, no Keystone, the local RabbitMQ
# (own vhost), 127.0.0.1 only. Its executor finds the farm's broker in the
# buildfarm configuration it is given ($BUILDFARM_CONFIG_FILE):
# vhost buildfarm-mistral-farm, where the tests run their controllers.
# Prints the API root. Safe to run again: a
# Mistral already answering is kept. "start-mistral.sh stop" stops it;
# restart it after changing buildfarm/mistral/ (it loads actions once).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=${BUILDFARM_MISTRAL_ROOT:-/tmp/buildfarm-mistral}
VENV=$ROOT/venv
STATE=$ROOT/state
PORT=${BUILDFARM_MISTRAL_PORT:-18989}
URL=http://127.0.0.1:$PORT/v2
VHOST=buildfarm-mistral
FARM_VHOST=buildfarm-mistral-farm

stop() {
    [ -f "$STATE/mistral.pid" ] || return 0
    pid=$(cat "$STATE/mistral.pid")
    # oslo.service forks the services: stop the whole session.
    kill -- "-$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -9 -- "-$pid" 2>/dev/null || true
    rm -f "$STATE/mistral.pid"
}

if [ "${1:-}" = stop ]; then
    stop
    exit 0
fi
if curl -sf -m 2 -o /dev/null "$URL/"; then
    echo "$URL"
    exit 0
fi

if [ ! -x "$VENV/bin/mistral-server" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check mistral \
        >"$ROOT/pip.log" 2>&1 || { tail -20 "$ROOT/pip.log"; exit 1; }
fi
# buildfarm's actions (the mistral.actions entry points), as they are now.
"$VENV/bin/pip" install -q --disable-pip-version-check -e "$HERE/.." \
    >"$ROOT/pip.log" 2>&1 || { tail -20 "$ROOT/pip.log"; exit 1; }

for vhost in "$VHOST" "$FARM_VHOST"; do
    rabbitmqctl -q add_vhost "$vhost" 2>/dev/null || true
    rabbitmqctl -q set_permissions -p "$vhost" guest '.*' '.*' '.*'
done
stop
rm -rf "$STATE"
mkdir -p "$STATE/locks"
printf '[DEFAULT]\ntransport_url = rabbit://guest:guest@127.0.0.1:5672/%s\n' \
    "$FARM_VHOST" >"$STATE/buildfarm.conf"
sed -e "s#@STATE@#$STATE#g" -e "s#@PORT@#$PORT#g" \
    -e "s#@TRANSPORT_URL@#rabbit://guest:guest@127.0.0.1:5672/$VHOST#g" \
    "$HERE/mistral/mistral.conf.in" >"$STATE/mistral.conf"
"$VENV/bin/python" "$HERE/mistral/dbinit.py" \
    --config-file "$STATE/mistral.conf" >"$STATE/dbinit.log" 2>&1
for step in "stamp head" populate; do
    # shellcheck disable=SC2086
    "$VENV/bin/mistral-db-manage" --config-file "$STATE/mistral.conf" \
        $step >>"$STATE/dbinit.log" 2>&1
done
# Not "--server all": its event-engine busy-loops a core (Mistral 23).
BUILDFARM_CONFIG_FILE=$STATE/buildfarm.conf setsid \
    "$VENV/bin/mistral-server" --config-file "$STATE/mistral.conf" \
    --server api,engine,executor,notifier >"$STATE/server.log" 2>&1 &
echo $! >"$STATE/mistral.pid"
for _ in $(seq 1 240); do
    if curl -sf -m 2 -o /dev/null "$URL/"; then
        echo "$URL"
        exit 0
    fi
    sleep 0.5
done
echo "Mistral did not answer on $URL; see $STATE/mistral.log" >&2
tail -20 "$STATE/server.log" >&2
exit 1
