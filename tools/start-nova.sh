#!/bin/bash
# Install (once, in its own virtualenv) and start a real Nova for the
# functional tests: nova-api (gunicorn), conductor, scheduler and a compute
# with the fake virt driver, Placement, a private MariaDB, a Neutron
# stand-in (tools/nova/neutron_standin.py), the local RabbitMQ (own vhost)
# and the Glance of tools/start-glance.sh. No Keystone: every request is
# the admin of project "admin" (tools/nova/fake_identity.py). Everything
# listens on 127.0.0.1. Prints the compute endpoint. Safe to run again: a
# Nova already answering is kept. "start-nova.sh stop" stops it.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=${BUILDFARM_NOVA_ROOT:-/tmp/buildfarm-nova}
VENV=$ROOT/venv
STATE=$ROOT/state
NOVA_PORT=18774 PLACEMENT_PORT=18778 NEUTRON_PORT=19696 MYSQL_PORT=13306
NOVA_URL=http://127.0.0.1:$NOVA_PORT/v2.1
PLACEMENT_URL=http://127.0.0.1:$PLACEMENT_PORT
SERVICES="neutron placement nova-api nova-conductor nova-scheduler nova-compute"
VHOST=buildfarm-nova

bg() {  # bg NAME COMMAND...: start in its own session, keep its pid
    local name=$1
    shift
    setsid "$@" >"$STATE/$name.log" 2>&1 &
    echo $! >"$STATE/$name.pid"
}

db_url() { echo "mysql+pymysql://nova:nova@127.0.0.1:$MYSQL_PORT/$1?charset=utf8"; }

manage() {
    "$VENV/bin/nova-manage" --config-file "$STATE/nova.conf" "$@" \
        >>"$STATE/manage.log" 2>&1
}

stop() {
    for name in $(echo "$SERVICES mariadb" | tr ' ' '\n' | tac); do
        [ -f "$STATE/$name.pid" ] || continue
        pid=$(cat "$STATE/$name.pid")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        # nova-compute may ignore SIGTERM while builds hang.
        kill -9 "$pid" 2>/dev/null || true
        rm -f "$STATE/$name.pid"
    done
}

if [ "${1:-}" = stop ]; then
    stop
    exit 0
fi
if curl -sf -m 2 -o /dev/null "$NOVA_URL/servers"; then
    echo "$NOVA_URL"
    exit 0
fi
GLANCE_URL=$("$HERE/start-glance.sh")

if [ ! -x "$VENV/bin/nova-compute" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check nova \
        openstack-placement gunicorn pymysql 2>&1 \
        | grep -v '^WARNING: Location' >&2 || true
fi
stop
rm -rf "$STATE"
mkdir -p "$STATE"/{instances,lock,mysql}

rabbitmqctl -q add_vhost "$VHOST" 2>/dev/null || true
rabbitmqctl -q set_permissions -p "$VHOST" guest '.*' '.*' '.*'

sed -e "s#@STATE@#$STATE#g" -e "s#@PORT@#$MYSQL_PORT#" \
    "$HERE/nova/mariadb.cnf.in" >"$STATE/mariadb.cnf"
mariadb-install-db --defaults-file="$STATE/mariadb.cnf" --skip-test-db \
    --auth-root-authentication-method=normal >"$STATE/mysql/install.log" 2>&1
bg mariadb mariadbd --defaults-file="$STATE/mariadb.cnf"
sql() { mariadb --no-defaults -S "$STATE/mysql/mysqld.sock" -uroot -e "$1"; }
for _ in $(seq 1 150); do
    sql 'select 1' >/dev/null 2>&1 && break
    sleep 0.2
done
sql "CREATE USER 'nova'@'127.0.0.1' IDENTIFIED BY 'nova';
     GRANT ALL ON *.* TO 'nova'@'127.0.0.1';
     CREATE DATABASE nova_api; CREATE DATABASE nova_cell0;
     CREATE DATABASE nova_cell1; CREATE DATABASE placement;"

sed -e "s#@STATE@#$STATE#g" -e "s#@PLACEMENT_URL@#$PLACEMENT_URL#" \
    -e "s#@GLANCE_URL@#$GLANCE_URL#" \
    -e "s#@NEUTRON_URL@#http://127.0.0.1:$NEUTRON_PORT#" \
    -e "s#@API_DB@#$(db_url nova_api)#" -e "s#@CELL1_DB@#$(db_url nova_cell1)#" \
    -e "s#@TRANSPORT_URL@#rabbit://guest:guest@127.0.0.1:5672/$VHOST#" \
    "$HERE/nova/nova.conf.in" >"$STATE/nova.conf"
sed -e "s#@PLACEMENT_DB@#$(db_url placement)#" \
    "$HERE/nova/placement.conf.in" >"$STATE/placement.conf"
cp "$HERE/nova/api-paste.ini" "$STATE/"
"$VENV/bin/placement-manage" --config-file "$STATE/placement.conf" db sync \
    >"$STATE/manage.log" 2>&1
manage api_db sync
manage cell_v2 map_cell0 --database_connection "$(db_url nova_cell0)"
manage cell_v2 create_cell --name cell1
manage db sync

bg neutron "$VENV/bin/python" "$HERE/nova/neutron_standin.py" "$NEUTRON_PORT"
OS_PLACEMENT_CONFIG_DIR=$STATE bg placement "$VENV/bin/gunicorn" \
    --no-control-socket --bind "127.0.0.1:$PLACEMENT_PORT" --workers 1 \
    --threads 4 placement.wsgi.api:application
OS_NOVA_CONFIG_DIR=$STATE NOVA_API_BIND=127.0.0.1:$NOVA_PORT \
    PYTHONPATH=$HERE/nova bg nova-api "$VENV/bin/gunicorn" \
    -c "$HERE/nova/gunicorn-nova-api.py"
for service in conductor scheduler compute; do
    bg "nova-$service" "$VENV/bin/nova-$service" --config-file "$STATE/nova.conf"
done
# Ready: the compute host is in Placement, mapped into cell1, and listed.
for _ in $(seq 1 300); do
    curl -s -m 2 -H 'X-Auth-Token: admin' "$PLACEMENT_URL/resource_providers" \
        | grep -q buildfarm-test-compute && break
    sleep 0.2
done
manage cell_v2 discover_hosts
for _ in $(seq 1 100); do
    curl -s -m 5 "$NOVA_URL/os-hypervisors" | grep -q buildfarm-test-compute \
        && break
    sleep 0.2
done
curl -s -m 5 "$NOVA_URL/os-hypervisors" | grep -q buildfarm-test-compute || {
    tail -n 20 "$STATE"/nova-*.log >&2
    exit 1
}
echo "$NOVA_URL"
