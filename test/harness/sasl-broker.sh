#!/usr/bin/env bash
# A second, separate local Kafka broker with security ON, for the security integration test
# (test/integration/security): SASL/SCRAM-SHA-512 over TLS (mutual TLS, a throw-away CA made
# here with openssl) and the StandardAuthorizer (nothing is allowed without an ACL). It reuses
# the Kafka jars that test/harness/stack.sh fetches and never touches the normal stack.
#
#   sasl-broker.sh up       make TLS material, format a fresh data dir with the SCRAM users, start,
#                           wait until the SASL_SSL listener answers
#   sasl-broker.sh down     stop it (SIGTERM, then SIGKILL)
#   sasl-broker.sh status   exit 1 if it is not running
#   sasl-broker.sh env      print what a client needs (eval-able)
#
# Environment:
#   IDRIFT_SASL_DIR              folder for data, TLS files and logs (default .cache/sasl-broker)
#   IDRIFT_SASL_KAFKA_PORT       SASL_SSL listener (default 19192)
#   IDRIFT_SASL_CONTROLLER_PORT  controller listener (default 19193)
#   IDRIFT_SASL_ADMIN_USER       super user (default admin)
#   IDRIFT_SASL_ADMIN_PASSWORD   its password (required for `up`)
#   IDRIFT_SASL_USERS            more SCRAM-SHA-512 users, "name:password,name:password" (no ACLs;
#                                the caller grants them)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CACHE="$ROOT/.cache"
DIR=${IDRIFT_SASL_DIR:-$CACHE/sasl-broker}
KAFKA_PORT=${IDRIFT_SASL_KAFKA_PORT:-19192}
CONTROLLER_PORT=${IDRIFT_SASL_CONTROLLER_PORT:-19193}
ADMIN_USER=${IDRIFT_SASL_ADMIN_USER:-admin}
KAFKA_LIBS="$CACHE/kafka/libs"
TLS="$DIR/tls"
PIDF="$DIR/broker.pid"
START_TIMEOUT_S=${IDRIFT_STACK_START_TIMEOUT_S:-120}

log() { printf '[sasl-broker] %s\n' "$*" >&2; }
# shellcheck source=test/harness/process-lib.sh
. "$ROOT/test/harness/process-lib.sh"

java_opts() {
  echo "-Xms256m -Xmx512m -XX:+UseG1GC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true -Dlog4j2.configurationFile=file:$ROOT/test/harness/kafka/log4j2.properties"
}

# A CA, one server certificate (SAN 127.0.0.1 + localhost; the broker uses it for its listener and
# as its own client certificate, the registry proxy of the test for HTTPS) and one client
# certificate. PKCS#8 PEM keys, which Kafka's PEM key store reads without a key password.
make_tls() {
  rm -rf "$TLS" && mkdir -p "$TLS"
  (
    cd "$TLS"
    openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 2 -subj '/CN=interest-drift test CA' \
      -keyout ca.key -out ca.crt \
      -addext 'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign,cRLSign' 2>/dev/null
    local name ext
    for name in server client; do
      if [ "$name" = server ]; then
        ext=$'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth'
      else
        ext=$'extendedKeyUsage=clientAuth'
      fi
      openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=interest-drift-$name" \
        -keyout "$name.key" -out "$name.csr" 2>/dev/null
      openssl x509 -req -sha256 -days 2 -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial \
        -extfile <(printf '%s\n' "$ext") -out "$name.crt" 2>/dev/null
      rm -f "$name.csr"
    done
    cat server.key server.crt >server.pem
    chmod 600 ./*.key server.pem
  )
}

up() {
  # Always a fresh cluster: its users and passwords are the caller's.
  if pid_alive "$PIDF"; then log "restarting the running broker (pid $(cat "$PIDF"))"; down; fi
  command -v java >/dev/null || { log "java not found"; return 3; }
  command -v openssl >/dev/null || { log "openssl not found"; return 3; }
  [ -n "${IDRIFT_SASL_ADMIN_PASSWORD:-}" ] || { log "IDRIFT_SASL_ADMIN_PASSWORD is required"; return 2; }
  if port_open "$KAFKA_PORT" || port_open "$CONTROLLER_PORT"; then
    log "port $KAFKA_PORT or $CONTROLLER_PORT is taken; set IDRIFT_SASL_KAFKA_PORT / IDRIFT_SASL_CONTROLLER_PORT"
    return 1
  fi
  [ -f "$KAFKA_LIBS/.complete" ] || "$ROOT/test/harness/stack.sh" fetch
  local t0; t0=$(now_ms)
  mkdir -p "$DIR"
  rm -rf "$DIR/kafka-data"
  make_tls
  local props="$DIR/server.properties"
  sed -e "s#@KAFKA_PORT@#$KAFKA_PORT#g" -e "s#@CONTROLLER_PORT@#$CONTROLLER_PORT#g" \
    -e "s#@DATA_DIR@#$DIR/kafka-data#g" -e "s#@TLS_DIR@#$TLS#g" \
    -e "s#@ADMIN_USER@#$ADMIN_USER#g" -e "s#@ADMIN_PASSWORD@#$IDRIFT_SASL_ADMIN_PASSWORD#g" \
    "$ROOT/test/harness/sasl/server.properties.tmpl" >"$props"
  chmod 600 "$props"
  local scram=(--add-scram "SCRAM-SHA-512=[name=$ADMIN_USER,password=$IDRIFT_SASL_ADMIN_PASSWORD]")
  local entry
  IFS=',' read -r -a entries <<<"${IDRIFT_SASL_USERS:-}"
  for entry in "${entries[@]}"; do
    [ -n "$entry" ] || continue
    scram+=(--add-scram "SCRAM-SHA-512=[name=${entry%%:*},password=${entry#*:}]")
  done
  # shellcheck disable=SC2046
  java $(java_opts) -cp "$KAFKA_LIBS/*" kafka.tools.StorageTool format \
    -t "$(java -cp "$KAFKA_LIBS/*" kafka.tools.StorageTool random-uuid 2>/dev/null)" \
    -c "$props" "${scram[@]}" >"$DIR/format.log" 2>&1 || {
    log "format failed:"; tail -20 "$DIR/format.log" >&2; return 1
  }
  # shellcheck disable=SC2046
  setsid nohup java $(java_opts) -cp "$KAFKA_LIBS/*" kafka.Kafka "$props" \
    >"$DIR/broker.log" 2>&1 </dev/null &
  echo $! >"$PIDF"
  local deadline=$((SECONDS + START_TIMEOUT_S))
  until grep -q 'Kafka Server started' "$DIR/broker.log" 2>/dev/null && port_open "$KAFKA_PORT"; do
    if ! pid_alive "$PIDF"; then log "broker exited during start; last lines of $DIR/broker.log:"; tail -20 "$DIR/broker.log" >&2; return 1; fi
    if [ $SECONDS -ge $deadline ]; then log "broker not ready after ${START_TIMEOUT_S}s"; return 1; fi
    sleep 0.2
  done
  log "SASL_SSL broker ready on 127.0.0.1:$KAFKA_PORT in $(($(now_ms) - t0)) ms (pid $(cat "$PIDF"))"
}

down() { stop_pid broker "$PIDF"; }

print_env() {
  echo "export SASL_KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT"
  echo "export SASL_ADMIN_USER=$ADMIN_USER"
  echo "export SASL_CA_FILE=$TLS/ca.crt"
  echo "export SASL_SERVER_CERT_FILE=$TLS/server.crt SASL_SERVER_KEY_FILE=$TLS/server.key"
  echo "export SASL_CLIENT_CERT_FILE=$TLS/client.crt SASL_CLIENT_KEY_FILE=$TLS/client.key"
  echo "export SASL_BROKER_LOG=$DIR/broker.log"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) if pid_alive "$PIDF"; then echo "sasl broker up pid $(cat "$PIDF") 127.0.0.1:$KAFKA_PORT"; else echo "sasl broker down"; exit 1; fi ;;
  env) print_env ;;
  *) echo "usage: $0 up|down|status|env" >&2; exit 2 ;;
esac
