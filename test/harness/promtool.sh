#!/usr/bin/env bash
# Prometheus' promtool, pinned, built from its source on the Go module proxy into .cache (GitHub
# release binaries cannot be reached from here), for the alert rules' tests
# (test/integration/k8s/prometheus-rules.test.ts: `promtool check rules` and `promtool test rules`).
#
# The module github.com/prometheus/prometheus is versioned v0.3MM.P for Prometheus 3.MM.P:
# v0.316.0 is Prometheus 3.16.0. Its source carries a go.work, so the build runs with GOWORK=off.
# The first build downloads the module's dependencies and compiles for about 7 minutes (2 cores).
#
#   promtool.sh path    build once, then print the binary's path
set -euo pipefail
VERSION=v0.316.0
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DIR="$ROOT/.cache/promtool-$VERSION"
BIN="$DIR/promtool"
log() { printf '[promtool] %s\n' "$*" >&2; }

case "${1:-path}" in
  path)
    if [ ! -x "$BIN" ]; then
      command -v go >/dev/null || { log "needs Go (the build machines have it; apt-get install golang otherwise)"; exit 1; }
      log "building promtool $VERSION from the Go module proxy (first run only, about 7 minutes)"
      src=$(GOWORK=off GOFLAGS=-mod=mod go mod download -json "github.com/prometheus/prometheus@$VERSION" |
        sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
      [ -d "$src" ] || { log "go mod download gave no source folder"; exit 1; }
      rm -rf "$DIR" && mkdir -p "$DIR"
      # A writable copy: with -mod=mod the go command may update go.sum, and the module cache is read-only.
      cp -r "$src" "$DIR/src" && chmod -R u+w "$DIR/src"
      (cd "$DIR/src" && GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=0 go build -o "$BIN.partial" ./cmd/promtool) >&2
      mv "$BIN.partial" "$BIN"
      rm -rf "$DIR/src"
    fi
    echo "$BIN"
    ;;
  *)
    log "usage: promtool.sh path"
    exit 2
    ;;
esac
