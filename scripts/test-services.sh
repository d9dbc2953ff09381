#!/usr/bin/env bash
# Installs (Debian packages) and starts the real services the tests need:
#   PostgreSQL — a throwaway cluster run as the `postgres` user (the server refuses root),
#     and a primary + streaming replica pair for the replica-read tests;
#   the node-smpp fake SMSC of tests/interop (npm ci; needs node and npm, fails without).
#   Kannel (Debian `kannel`: bearerbox + smsbox) for tests/interop; its own service kept off.
#   etcd (Debian `etcd-server`) for the cluster tests, which start their own etcd processes.
#   Kafka + Kafka Connect + Debezium (scripts/cdc/stack.sh; jars from Maven Central) for the DWH.
# Missing packages come in one apt-get run; then the services start in parallel, each checked
# ready. Prints the environment the tests read. Usage: scripts/test-services.sh up|down|env
set -euo pipefail

PG_PORT=${RCS_TEST_PG_PORT:-54329}
PG_DIR=${RCS_TEST_PG_DIR:-/var/tmp/rcs-test-pg-$PG_PORT}
# Replica reads (SPEC F21): a primary and its streaming read replica. Not the cluster above:
# a replica replays everything its primary does, and following that one it created and
# dropped every test's database (some 700 files each) again: 10.5 CPU minutes of replay
# over two test runs on 2 cores, and reads 30-40 s behind. Only replica-read tests use it.
PG_PRIMARY_PORT=${RCS_TEST_PG_PRIMARY_PORT:-54349}
PG_PRIMARY_DIR=${RCS_TEST_PG_PRIMARY_DIR:-/var/tmp/rcs-test-pg-$PG_PRIMARY_PORT}
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

pg_server_up() { # port, dir, shared_buffers
  local bin; bin=$(pg_bin)
  local port=$1 dir=$2 buffers=$3
  mkdir -p "$dir"
  chown postgres:postgres "$dir" 2>/dev/null || true
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    as_postgres "$bin/initdb -D '$dir/data' -A trust -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null"
  fi
  if ! as_postgres "$bin/pg_ctl -D '$dir/data' status >/dev/null 2>&1"; then
    as_postgres "$bin/pg_ctl -D '$dir/data' -l '$dir/server.log' -w -t 60 start \
      -o \"-p $port -k /tmp -c listen_addresses=127.0.0.1 -c max_connections=300 \
          -c shared_buffers=$buffers\"" >/dev/null
  fi
}

pg_up() {
  pg_server_up "$PG_PORT" "$PG_DIR" 256MB
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

# The replica: pg_basebackup -R of the running primary (no slot, so a replica left stopped
# never pins the primary's WAL), started beside it. Idempotent: a replica that runs and
# streams from the primary is left alone; one that cannot catch up any more (its WAL is
# gone) or follows another server (before the pair had a primary of its own) is rebuilt.
# Debian's defaults (wal_level replica, max_wal_senders 10, trust for replication from
# 127.0.0.1 in our initdb) suffice on the primary.
pg_replica_streaming() {
  psql -h 127.0.0.1 -p "$PG_REPLICA_PORT" -U postgres -d postgres -Atc \
    "SELECT pg_is_in_recovery() AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming')" \
    2>/dev/null | grep -qx t
}

pg_replica_up() {
  local bin; bin=$(pg_bin)
  local data="$PG_REPLICA_DIR/data"
  local opts="-p $PG_REPLICA_PORT -k /tmp -c listen_addresses=127.0.0.1 -c max_connections=300 -c shared_buffers=128MB"
  pg_server_up "$PG_PRIMARY_PORT" "$PG_PRIMARY_DIR" 64MB
  mkdir -p "$PG_REPLICA_DIR"
  chown postgres:postgres "$PG_REPLICA_DIR" 2>/dev/null || true
  if [ -f "$data/standby.signal" ] && ! grep -q "port=$PG_PRIMARY_PORT" "$data/postgresql.auto.conf"; then
    as_postgres "$bin/pg_ctl -D '$data' -m fast stop" >/dev/null 2>&1 || true
    rm -rf "$data"
  fi
  if [ -f "$data/standby.signal" ] && ! as_postgres "$bin/pg_ctl -D '$data' status >/dev/null 2>&1"; then
    as_postgres "$bin/pg_ctl -D '$data' -l '$PG_REPLICA_DIR/server.log' -w -t 60 start -o \"$opts\"" >/dev/null || true
  fi
  for _ in $(seq 1 20); do pg_replica_streaming && break; sleep 0.5; done
  if ! pg_replica_streaming; then
    as_postgres "$bin/pg_ctl -D '$data' -m fast stop" >/dev/null 2>&1 || true
    rm -rf "$data"
    as_postgres "$bin/pg_basebackup -h 127.0.0.1 -p $PG_PRIMARY_PORT -U postgres -D '$data' -R -X stream -c fast"
    as_postgres "$bin/pg_ctl -D '$data' -l '$PG_REPLICA_DIR/server.log' -w -t 60 start -o \"$opts\"" >/dev/null
    for _ in $(seq 1 60); do pg_replica_streaming && break; sleep 0.5; done
    pg_replica_streaming || { echo "replica on $PG_REPLICA_PORT does not stream: see $PG_REPLICA_DIR/server.log" >&2; exit 1; }
  fi
  # Reports run long queries on the replica: with feedback the primary keeps the row
  # versions they read instead of having them cancelled ("conflict with recovery").
  # Replay waits at most 5 s for a replica query it conflicts with (e.g. a test's database
  # dropped while another session reads it there) instead of the default 30 s.
  psql -h 127.0.0.1 -p "$PG_REPLICA_PORT" -U postgres -d postgres -q \
    -c "ALTER SYSTEM SET hot_standby_feedback = on" \
    -c "ALTER SYSTEM SET max_standby_streaming_delay = '5s'" -c "SELECT pg_reload_conf()" >/dev/null
  echo "postgresql replica streaming on 127.0.0.1:$PG_REPLICA_PORT from 127.0.0.1:$PG_PRIMARY_PORT" >&2
}

pg_replica_down() {
  local bin; bin=$(pg_bin)
  [ -n "$bin" ] && [ -d "$PG_REPLICA_DIR/data" ] && \
    as_postgres "$bin/pg_ctl -D '$PG_REPLICA_DIR/data' -m fast stop" >/dev/null 2>&1 || true
  [ -n "$bin" ] && [ -d "$PG_PRIMARY_DIR/data" ] && \
    as_postgres "$bin/pg_ctl -D '$PG_PRIMARY_DIR/data' -m fast stop" >/dev/null 2>&1 || true
}

pg_env() {
  echo "export RCS_TEST_DSN=postgresql://postgres@127.0.0.1:$PG_PORT/postgres"
  echo "export RCS_TEST_REPLICA_PRIMARY_DSN=postgresql://postgres@127.0.0.1:$PG_PRIMARY_PORT/postgres"
  echo "export RCS_TEST_REPLICA_DSN=postgresql://postgres@127.0.0.1:$PG_REPLICA_PORT/postgres"
}

# The fake SMSC of tests/interop; a no-op when node_modules matches the lock file.
interop_up() { "$(dirname "$0")/interop/npm-smsc/install.sh"; }

# Kannel as an ESME of our SMPP gateway (tests/interop/test_kannel.py runs its own bearerbox
# and smsbox on free ports) and etcd for tests/cluster (each test starts its own `etcd` on
# free ports, so that it can kill and restart it): the packages' own services (Kannel's
# default ports 13000-13013, etcd's 2379/2380) are kept stopped and disabled.
keep_service_off() {
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    systemctl disable --now "$1" >/dev/null 2>&1 || true
  elif [ -x "/etc/init.d/$1" ]; then
    "/etc/init.d/$1" stop >/dev/null 2>&1 || true
  fi
}

# Every missing Debian package in one apt-get run, before anything starts in parallel
# (dpkg allows one install at a time): PostgreSQL, Kannel, etcd, the JDK and Maven of the
# change-capture stack, curl (partners' own tool in the interop tests) and openssl (the TLS
# tests make a throwaway CA and certificates with it).
packages_up() {
  local missing=()
  [ -n "$(pg_bin)" ] || missing+=(postgresql)
  [ -x /usr/sbin/bearerbox ] || missing+=(kannel)
  command -v etcd >/dev/null || missing+=(etcd-server)
  command -v curl >/dev/null || missing+=(curl)
  command -v openssl >/dev/null || missing+=(openssl)
  command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
  command -v mvn >/dev/null || missing+=(maven)
  [ ${#missing[@]} -gt 0 ] || return 0
  apt_install "${missing[@]}"
  case " ${missing[*]} " in *" kannel "*) keep_service_off kannel ;; esac
  case " ${missing[*]} " in *" etcd-server "*) keep_service_off etcd ;; esac
}

# The services start in parallel (PostgreSQL and its replica; Kafka and Kafka Connect; the
# npm peer), each in a subshell under `set -e` with its output kept: `up` returns when all
# are ready, or fails with the output (and server log) of each that did not come up.
JOB_NAMES=()
JOB_PIDS=()
JOB_HINTS=()

start_job() { # name, log files worth showing on failure, command...
  local name=$1 hints=$2; shift 2
  ("$@") >"$JOB_LOGS/$name.log" 2>&1 &
  JOB_NAMES+=("$name"); JOB_PIDS+=($!); JOB_HINTS+=("$hints")
}

join_jobs() {
  local i failed=0 file
  for i in "${!JOB_NAMES[@]}"; do
    if wait "${JOB_PIDS[$i]}"; then
      cat "$JOB_LOGS/${JOB_NAMES[$i]}.log" >&2
      continue
    fi
    failed=1
    echo "--- ${JOB_NAMES[$i]} did not come up; its output:" >&2
    cat "$JOB_LOGS/${JOB_NAMES[$i]}.log" >&2
    for file in ${JOB_HINTS[$i]}; do
      [ -f "$file" ] && { echo "--- tail of $file:" >&2; tail -n 30 "$file" >&2; }
    done
  done
  return $failed
}

pg_all_up() { pg_up; pg_replica_up; }

services_up() {
  packages_up
  JOB_LOGS=$(mktemp -d)
  trap 'rm -rf "$JOB_LOGS"' EXIT
  start_job postgresql "$PG_DIR/server.log $PG_PRIMARY_DIR/server.log $PG_REPLICA_DIR/server.log" pg_all_up
  local cdc_run=${CDC_RUN_DIR:-/var/tmp/rcs-cdc-${CDC_KAFKA_PORT:-59092}}
  start_job kafka "$cdc_run/kafka.log $cdc_run/connect.log" cdc_up
  start_job npm-smsc "" interop_up
  join_jobs
}

case "${1:-up}" in
  up) services_up; pg_env; "$(dirname "$0")/cdc/stack.sh" env ;;
  down) "$(dirname "$0")/cdc/stack.sh" down; pg_replica_down; pg_down ;;
  env) pg_env; "$(dirname "$0")/cdc/stack.sh" env ;;
  *) echo "usage: $0 up|down|env" >&2; exit 2 ;;
esac
