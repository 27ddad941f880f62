#!/usr/bin/env bash
# Runs a pinned kustomize, installing it on first use into .cache/bin with `go install` from the
# Go module proxy (a fresh CI machine has Go but not necessarily kubectl). Falls back to
# `kubectl kustomize` only when Go is missing.
#
#   k8s/bin/kustomize.sh build k8s/overlays/cpu
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
VERSION=v5.7.1
BIN="$ROOT/.cache/bin/kustomize-$VERSION"
if [ ! -x "$BIN" ]; then
  if command -v go >/dev/null 2>&1; then
    echo "[kustomize] installing sigs.k8s.io/kustomize/kustomize/v5@$VERSION into .cache/bin" >&2
    tmp=$(mktemp -d)
    GOBIN="$tmp" GOFLAGS=-mod=mod GOTOOLCHAIN=local go install "sigs.k8s.io/kustomize/kustomize/v5@$VERSION" >&2
    mkdir -p "$(dirname "$BIN")"
    mv "$tmp/kustomize" "$BIN"
    rm -rf "$tmp"
  elif command -v kubectl >/dev/null 2>&1; then
    [ "${1:-}" = build ] || { echo "[kustomize] only 'build' works through kubectl" >&2; exit 2; }
    shift
    exec kubectl kustomize "$@"
  else
    echo "[kustomize] needs Go (to install kustomize $VERSION) or kubectl" >&2
    exit 127
  fi
fi
exec "$BIN" "$@"
