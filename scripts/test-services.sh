#!/usr/bin/env bash
# Installs (Debian packages) and starts the real services the tests need:
#   PostgreSQL — a throwaway cluster run as the `postgres` user (the server refuses root);
#   the node-smpp fake SMSC of tests/interop (npm ci; needs node and npm, fails without).
#   Kannel (Debian `kannel`: bearerbox + smsbox) for tests/interop; its own service kept off.
#   etcd (Debian `etcd-server`) for the cluster tests, which start their own etcd processes.
#   Kafka + Kafka Connect + Debezium (scripts/cdc/stack.sh; jars from Maven Central) for the DWH.
# Prints the environment the tests read. Usage: scripts/test-services.sh up|down|env
set -euo pipefail

PG_PORT=${RCS_TEST_PG_PORT:-54329}
PG_DIR=${RCS_TEST_PG_DIR:-/var/tmp/rcs-test-pg-$PG_PORT}
# A streaming read replica of that cluster (replica reads, SPEC F21).
PG_REPLICA_PORT=${RCS_TEST_PG_REPLICA_PORT:-54339}
PG_REPLICA_DIR=${RCS_TEST_PG_REPLICA_DIR:-/var/tmp/rcs-test-pg-replica-$PG_REPLICA_PORT}

apt_install() {
  if [ "$(id -u)" != 0 ]; then
    echo "need root to apt-get install $*; install them or run as root" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

as_postgres() {
  if [ "$(id -un)" = postgres ]; then bash -c "$1"; else su postgres -s /bin/bash -c "$1"; fi
}

pg_up() {
  [ -n "$(pg_bin)" ] || apt_install postgresql
  local bin; bin=$(pg_bin)
  mkdir -p "$PG_DIR"
  chown postgres:postgres "$PG_DIR" 2>/dev/null || true
  if [ ! -f "$PG_DIR/data/PG_VERSION" ]; then
    as_postgres "$bin/initdb -D '$PG_DIR/data' -A trust -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null"
  fi
  if ! as_postgres "$bin/pg_ctl -D '$PG_DIR/data' status >/dev/null 2>&1"; then
    as_postgres "$bin/pg_ctl -D '$PG_DIR/data' -l '$PG_DIR/server.log' -w -t 60 start \
      -o \"-p $PG_PORT -k /tmp -c listen_addresses=127.0.0.1 -c max_connections=300 \
          -c shared_buffers=256MB\"" >/dev/null
  fi
  pg_logical
  echo "postgresql ready on 127.0.0.1:$PG_PORT" >&2
}

# Debezium reads the installations' WAL through logical replication slots (the DWH tests).
# Other tests use this server all the time: restart it only when a setting is missing.
pg_logical() {
  local bin; bin=$(pg_bin)
  local q="psql -h 127.0.0.1 -p $PG_PORT -U postgres -Atc"
  if [ "$($q 'SHOW wal_level')" != logical ] || [ "$($q 'SHOW max_replication_slots')" -lt 64 ]; then
    $q "ALTER SYSTEM SET wal_level = logical" >/dev/null
    $q "ALTER SYSTEM SET max_replication_slots = 64" >/dev/null
    $q "ALTER SYSTEM SET max_wal_senders = 64" >/dev/null
    as_postgres "$bin/pg_ctl -D '$PG_DIR/data' -l '$PG_DIR/server.log' -w -t 60 -m fast restart \
      -o \"-p $PG_PORT -k /tmp -c listen_addresses=127.0.0.1 -c max_connections=300 \
          -c shared_buffers=256MB\"" >/dev/null
  fi
}

# Kafka (KRaft) + Kafka Connect with Debezium for the DWH tests (scripts/cdc/stack.sh).
cdc_up() { "$(dirname "$0")/cdc/stack.sh" up >/dev/null; }

pg_down() {
  local bin; bin=$(pg_bin)
  [ -n "$bin" ] && [ -d "$PG_DIR/data" ] && \
    as_postgres "$bin/pg_ctl -D '$PG_DIR/data' -m fast stop" >/dev/null 2>&1 || true
}

# The replica: pg_basebackup -R of the running master (no slot, so a replica left stopped
# never pins the master's WAL), started beside it. Idempotent: a replica that runs and
# streams is left alone; one that cannot catch up any more (its WAL is gone) is rebuilt.
# The master is never restarted: Debian's defaults (wal_level replica or logical,
# max_wal_senders 10, trust for replication from 127.0.0.1 in our initdb) suffice.
pg_replica_streaming() {
  psql -h 127.0.0.1 -p "$PG_REPLICA_PORT" -U postgres -d postgres -Atc \
    "SELECT pg_is_in_recovery() AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming')" \
    2>/dev/null | grep -qx t
}

pg_replica_up() {
  local bin; bin=$(pg_bin)
  local data="$PG_REPLICA_DIR/data"
  local opts="-p $PG_REPLICA_PORT -k /tmp -c listen_addresses=127.0.0.1 -c max_connections=300 -c shared_buffers=128MB"
  mkdir -p "$PG_REPLICA_DIR"
  chown postgres:postgres "$PG_REPLICA_DIR" 2>/dev/null || true
  if [ -f "$data/standby.signal" ] && ! as_postgres "$bin/pg_ctl -D '$data' status >/dev/null 2>&1"; then
    as_postgres "$bin/pg_ctl -D '$data' -l '$PG_REPLICA_DIR/server.log' -w -t 60 start -o \"$opts\"" >/dev/null || true
  fi
  for _ in $(seq 1 20); do pg_replica_streaming && break; sleep 0.5; done
  if ! pg_replica_streaming; then
    as_postgres "$bin/pg_ctl -D '$data' -m fast stop" >/dev/null 2>&1 || true
    rm -rf "$data"
    as_postgres "$bin/pg_basebackup -h 127.0.0.1 -p $PG_PORT -U postgres -D '$data' -R -X stream -c fast"
    as_postgres "$bin/pg_ctl -D '$data' -l '$PG_REPLICA_DIR/server.log' -w -t 60 start -o \"$opts\"" >/dev/null
    for _ in $(seq 1 60); do pg_replica_streaming && break; sleep 0.5; done
    pg_replica_streaming || { echo "replica on $PG_REPLICA_PORT does not stream: see $PG_REPLICA_DIR/server.log" >&2; exit 1; }
  fi
  # Reports run long queries on the replica: with feedback the master keeps the row
  # versions they read instead of having them cancelled ("conflict with recovery").
  psql -h 127.0.0.1 -p "$PG_REPLICA_PORT" -U postgres -d postgres -q \
    -c "ALTER SYSTEM SET hot_standby_feedback = on" -c "SELECT pg_reload_conf()" >/dev/null
  echo "postgresql replica streaming on 127.0.0.1:$PG_REPLICA_PORT" >&2
}

pg_replica_down() {
  local bin; bin=$(pg_bin)
  [ -n "$bin" ] && [ -d "$PG_REPLICA_DIR/data" ] && \
    as_postgres "$bin/pg_ctl -D '$PG_REPLICA_DIR/data' -m fast stop" >/dev/null 2>&1 || true
}

pg_env() {
  echo "export RCS_TEST_DSN=postgresql://postgres@127.0.0.1:$PG_PORT/postgres"
  echo "export RCS_TEST_REPLICA_DSN=postgresql://postgres@127.0.0.1:$PG_REPLICA_PORT/postgres"
}

# The fake SMSC of tests/interop; a no-op when node_modules matches the lock file.
interop_up() { "$(dirname "$0")/interop/npm-smsc/install.sh"; }

# Partners' own tool in the interop tests: plain curl.
curl_up() { command -v curl >/dev/null || apt_install curl; }

# The TLS tests make a throwaway CA and certificates with the openssl command.
openssl_up() { command -v openssl >/dev/null || apt_install openssl; }

# Kannel as an ESME of our SMPP gateway (tests/interop/test_kannel.py runs its own bearerbox
# and smsbox on free ports). The package's init script would start a system bearerbox on
# the default ports 13000-13013: keep it stopped and disabled, the tests never use it.
kannel_up() {
  if [ ! -x /usr/sbin/bearerbox ]; then
    apt_install kannel
    if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
      systemctl disable --now kannel >/dev/null 2>&1 || true
    elif [ -x /etc/init.d/kannel ]; then
      /etc/init.d/kannel stop >/dev/null 2>&1 || true
    fi
  fi
}

# etcd for tests/cluster: each test starts its own `etcd` on free ports (so that it can kill
# and restart it); the package's own service (2379/2380) is kept stopped and disabled.
etcd_up() {
  if ! command -v etcd >/dev/null; then
    apt_install etcd-server
    if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
      systemctl disable --now etcd >/dev/null 2>&1 || true
    elif [ -x /etc/init.d/etcd ]; then
      /etc/init.d/etcd stop >/dev/null 2>&1 || true
    fi
  fi
}

case "${1:-up}" in
  up) pg_up; pg_replica_up; interop_up; kannel_up; curl_up; openssl_up; etcd_up; cdc_up; pg_env; "$(dirname "$0")/cdc/stack.sh" env ;;
  down) "$(dirname "$0")/cdc/stack.sh" down; pg_replica_down; pg_down ;;
  env) pg_env; "$(dirname "$0")/cdc/stack.sh" env ;;
  *) echo "usage: $0 up|down|env" >&2; exit 2 ;;
esac
