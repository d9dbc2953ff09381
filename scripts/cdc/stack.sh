#!/usr/bin/env bash
# The change-capture stack: Kafka 4 (KRaft, broker and controller in one JVM) and Kafka
# Connect (distributed worker, REST API) with Debezium's PostgreSQL connector, from Maven
# Central jars (pom.xml) assembled in the project's ignored .cache/cdc; Maven's downloads
# stay in the user's Maven repository (~/.m2), so a fresh clone's install copies the jars
# from there and downloads nothing a previous install fetched.
#
# Usage: scripts/cdc/stack.sh install|up|down|env|restart-kafka
#   CDC_KAFKA_PORT   (59092; the controller listens on the next port)
#   CDC_CONNECT_PORT (59083)
#   CDC_RUN_DIR      (/var/tmp/rcs-cdc-$CDC_KAFKA_PORT: configs, data, logs, pid files)
#   CDC_CONNECT=0    starts the broker alone (tests that restart a broker of their own)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${CDC_CACHE_DIR:-$ROOT/.cache/cdc}
M2_REPO=${CDC_M2_REPO:-$HOME/.m2/repository}
KAFKA_PORT=${CDC_KAFKA_PORT:-59092}
CONTROLLER_PORT=$((KAFKA_PORT + 1))
CONNECT_PORT=${CDC_CONNECT_PORT:-59083}
RUN=${CDC_RUN_DIR:-/var/tmp/rcs-cdc-$KAFKA_PORT}
WITH_CONNECT=${CDC_CONNECT:-1}
# Small heaps and the serial collector: the machine has 2 cores shared by everything.
JAVA_OPTS_BROKER=${CDC_BROKER_JAVA_OPTS:--Xms128m -Xmx384m -XX:+UseSerialGC}
JAVA_OPTS_CONNECT=${CDC_CONNECT_JAVA_OPTS:--Xms128m -Xmx512m -XX:+UseSerialGC}

apt_install() {
  if [ "$(id -u)" != 0 ]; then
    echo "need root to apt-get install $*; install them or run as root" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

install() {
  command -v java >/dev/null || apt_install openjdk-17-jre-headless
  command -v mvn >/dev/null || apt_install maven
  # Current when built from this pom.xml (its content: a fresh clone's files are all new).
  # The lock keeps two clones from building into the shared cache at once.
  local pom; pom=$(sha256sum "$ROOT/scripts/cdc/pom.xml" | cut -d' ' -f1)
  mkdir -p "$CACHE"
  exec 9>"$CACHE/.lock"
  flock 9
  if [ "$(cat "$CACHE/.complete" 2>/dev/null)" != "$pom" ]; then
    rm -rf "$CACHE/lib" "$CACHE/plugins" "$CACHE/target" "$CACHE/.complete"
    mvn -B -q -f "$ROOT/scripts/cdc/pom.xml" -Dmaven.repo.local="$M2_REPO" \
      -Dout.dir="$CACHE" package >&2
    echo "$pom" >"$CACHE/.complete"
  fi
  flock -u 9
}

log4j_config() {
  cat >"$RUN/log4j2-$1.properties" <<CONF
appender.file.type = File
appender.file.name = file
appender.file.fileName = $RUN/$1.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.reflections.name = org.reflections
logger.reflections.level = ERROR
CONF
}

java_run() { # name, opts, main class, args...
  local name=$1 opts=$2 main=$3; shift 3
  # shellcheck disable=SC2086
  setsid nohup java $opts -Dlog4j2.configurationFile="$RUN/log4j2-$name.properties" \
    -cp "$CACHE/lib/*" "$main" "$@" >"$RUN/$name.out" 2>&1 </dev/null &
  echo $! >"$RUN/$name.pid"
}

running() { [ -f "$RUN/$1.pid" ] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }

wait_for() { # what, seconds, command...
  local what=$1 limit=$2; shift 2
  local i
  for ((i = 0; i < limit * 4; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.25
  done
  echo "$what did not come up within ${limit}s; see $RUN/*.log and $RUN/*.out" >&2
  return 1
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

broker_up() {
  mkdir -p "$RUN/kafka-data"
  log4j_config kafka
  cat >"$RUN/server.properties" <<CONF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$RUN/kafka-data
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
log.retention.hours=48
CONF
  if [ ! -f "$RUN/kafka-data/meta.properties" ]; then
    local id
    id=$(java -cp "$CACHE/lib/*" -Dlog4j2.configurationFile="$RUN/log4j2-kafka.properties" \
      kafka.tools.StorageTool random-uuid)
    java -cp "$CACHE/lib/*" -Dlog4j2.configurationFile="$RUN/log4j2-kafka.properties" \
      kafka.tools.StorageTool format -t "$id" -c "$RUN/server.properties" >/dev/null
  fi
  running kafka || java_run kafka "$JAVA_OPTS_BROKER" kafka.Kafka "$RUN/server.properties"
  wait_for "Kafka on 127.0.0.1:$KAFKA_PORT" 90 port_open "$KAFKA_PORT"
}

connect_ready() {
  curl -sf "http://127.0.0.1:$CONNECT_PORT/connector-plugins" | grep -q PostgresConnector
}

connect_up() {
  log4j_config connect
  cat >"$RUN/connect.properties" <<CONF
bootstrap.servers=127.0.0.1:$KAFKA_PORT
group.id=rcs-connect-$KAFKA_PORT
key.converter=org.apache.kafka.connect.json.JsonConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
config.storage.topic=_rcs_connect_configs
offset.storage.topic=_rcs_connect_offsets
status.storage.topic=_rcs_connect_status
config.storage.replication.factor=1
offset.storage.replication.factor=1
status.storage.replication.factor=1
offset.storage.partitions=5
offset.flush.interval.ms=1000
listeners=http://127.0.0.1:$CONNECT_PORT
rest.advertised.host.name=127.0.0.1
rest.advertised.port=$CONNECT_PORT
plugin.path=$CACHE/plugins
# Every plugin here has ServiceLoader manifests: no 16 s reflective scan at start.
plugin.discovery=service_load
CONF
  running connect || java_run connect "$JAVA_OPTS_CONNECT" \
    org.apache.kafka.connect.cli.ConnectDistributed "$RUN/connect.properties"
  wait_for "Kafka Connect on 127.0.0.1:$CONNECT_PORT" 120 connect_ready
}

stop() {
  if running "$1"; then
    local pid; pid=$(cat "$RUN/$1.pid")
    kill "$pid"
    for _ in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$RUN/$1.pid"
}

env_out() {
  echo "export RCS_TEST_KAFKA=127.0.0.1:$KAFKA_PORT"
  [ "$WITH_CONNECT" = 1 ] && echo "export RCS_TEST_CONNECT_URL=http://127.0.0.1:$CONNECT_PORT"
  return 0
}

case "${1:-up}" in
  install) install ;;
  up)
    install
    mkdir -p "$RUN"
    broker_up
    [ "$WITH_CONNECT" = 1 ] && connect_up
    echo "kafka ready on 127.0.0.1:$KAFKA_PORT" >&2
    env_out
    ;;
  restart-kafka) stop kafka; broker_up ;;
  down) stop connect; stop kafka ;;
  env) env_out ;;
  *) echo "usage: $0 install|up|down|env|restart-kafka" >&2; exit 2 ;;
esac
