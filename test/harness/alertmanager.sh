#!/usr/bin/env bash
# A real Prometheus Alertmanager for the alert-bridge tests, pinned, built from its source on the
# Go module proxy into .cache (GitHub release binaries cannot be reached from here).
#
# `go install …/cmd/alertmanager@v0.34.2` fails on the module as published: ui/web.go embeds
# ui/app/dist, the web UI's build output, which is not in the module zip ("pattern app/dist: no
# matching files found"). So the module source is copied, a one-page placeholder is put where the
# UI would be, and the binary is built from that copy. The v2 API the bridge uses is unchanged.
#
#   alertmanager.sh path    build once, then print the binary's path
set -euo pipefail
VERSION=v0.34.2
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DIR="$ROOT/.cache/alertmanager-$VERSION"
BIN="$DIR/alertmanager"
log() { printf '[alertmanager] %s\n' "$*" >&2; }

case "${1:-path}" in
  path)
    if [ ! -x "$BIN" ]; then
      command -v go >/dev/null || { log "needs Go (the build machines have it; apt-get install golang otherwise)"; exit 1; }
      log "building Alertmanager $VERSION from the Go module proxy (first run only, a few minutes)"
      src=$(GOFLAGS=-mod=mod go mod download -json "github.com/prometheus/alertmanager@$VERSION" |
        sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
      [ -d "$src" ] || { log "go mod download gave no source folder"; exit 1; }
      rm -rf "$DIR" && mkdir -p "$DIR"
      cp -r "$src" "$DIR/src" && chmod -R u+w "$DIR/src"
      mkdir -p "$DIR/src/ui/app/dist"
      printf '<!doctype html><title>Alertmanager</title><p>Web UI not built (interest-drift test harness).</p>\n' \
        >"$DIR/src/ui/app/dist/index.html"
      (cd "$DIR/src" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -o "$BIN.partial" ./cmd/alertmanager) >&2
      mv "$BIN.partial" "$BIN"
    fi
    echo "$BIN"
    ;;
  *)
    log "usage: alertmanager.sh path"
    exit 2
    ;;
esac
