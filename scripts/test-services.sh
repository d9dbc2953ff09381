#!/usr/bin/env bash
# Installs (Debian packages) and starts the real services the tests need:
#   PostgreSQL — a throwaway cluster run as the `postgres` user (the server refuses root);
#   the node-smpp fake SMSC of tests/interop (npm ci; needs node and npm, fails without).
#   Kannel (Debian `kannel`: bearerbox + smsbox) for tests/interop; its own service kept off.
#   etcd (Debian `etcd-server`) for the cluster tests, which start their own etcd processes.
# Prints the environment the tests read. Usage: scripts/test-services.sh up|down|env
set -euo pipefail

PG_PORT=${RCS_TEST_PG_PORT:-54329}
PG_DIR=${RCS_TEST_PG_DIR:-/var/tmp/rcs-test-pg-$PG_PORT}

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
  echo "postgresql ready on 127.0.0.1:$PG_PORT" >&2
}

pg_down() {
  local bin; bin=$(pg_bin)
  [ -n "$bin" ] && [ -d "$PG_DIR/data" ] && \
    as_postgres "$bin/pg_ctl -D '$PG_DIR/data' -m fast stop" >/dev/null 2>&1 || true
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
  up) pg_up; interop_up; kannel_up; curl_up; openssl_up; etcd_up; echo "export RCS_TEST_DSN=postgresql://postgres@127.0.0.1:$PG_PORT/postgres" ;;
  down) pg_down ;;
  env) echo "export RCS_TEST_DSN=postgresql://postgres@127.0.0.1:$PG_PORT/postgres" ;;
  *) echo "usage: $0 up|down|env" >&2; exit 2 ;;
esac
