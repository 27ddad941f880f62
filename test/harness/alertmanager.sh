#!/usr/bin/env bash
# A real Prometheus Alertmanager for the alert-bridge tests, pinned, built from its source on the
# Go module proxy into .cache (GitHub release binaries cannot be reached from here).
#
# `go install …/cmd/alertmanager@v0.34.2` fails on the module as published: ui/web.go embeds
# ui/app/dist, the web UI's build output, which is not in the module zip ("pattern app/dist: no
# matching files found"). So the binary is built from a copy of the module source with a one-page
# placeholder where the UI would be. The v2 API the bridge uses is unchanged.
#
#   alertmanager.sh path    build once, then print the binary's path
set -euo pipefail
VERSION=v0.34.2
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DIR="$ROOT/.cache/alertmanager-$VERSION"
# shellcheck source=test/harness/go-module-build.sh
. "$ROOT/test/harness/go-module-build.sh"

placeholder_ui() {
  mkdir -p ui/app/dist
  printf '<!doctype html><title>Alertmanager</title><p>Web UI not built (interest-drift test harness).</p>\n' \
    >ui/app/dist/index.html
}

case "${1:-path}" in
  path)
    if [ ! -x "$DIR/alertmanager" ]; then
      printf '[alertmanager] building Alertmanager %s from the Go module proxy (first run only, a few minutes)\n' "$VERSION" >&2
      go_module_build github.com/prometheus/alertmanager "$VERSION" cmd/alertmanager "$DIR" placeholder_ui
    fi
    echo "$DIR/alertmanager"
    ;;
  *)
    printf '[alertmanager] usage: alertmanager.sh path\n' >&2
    exit 2
    ;;
esac
