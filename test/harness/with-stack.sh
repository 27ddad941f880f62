#!/usr/bin/env bash
# Runs a command with the local stack (broker + registry) available:
# starts whatever is not running, exports IDRIFT_KAFKA_BROKERS / IDRIFT_SCHEMA_REGISTRY_URL,
# runs the command, and stops only what it started (also on failure or Ctrl-C).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
STACK="$HERE/stack.sh"

started=0
if ! "$STACK" status >/dev/null 2>&1; then
  started=1
  t0=$(date +%s%3N)
  "$STACK" up
  echo "[with-stack] stack up in $(($(date +%s%3N) - t0)) ms" >&2
fi
cleanup() {
  rc=$?
  if [ "$started" = 1 ]; then "$STACK" down || true; fi
  exit $rc
}
trap cleanup EXIT INT TERM

eval "$("$STACK" env)"
export IDRIFT_KAFKA_BROKERS="$KAFKA_BROKERS" IDRIFT_SCHEMA_REGISTRY_URL="$SCHEMA_REGISTRY_URL"
"$@"
