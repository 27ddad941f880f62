#!/usr/bin/env bash
# Prometheus' promtool, pinned, built from its source on the Go module proxy into .cache, for the
# alert rules' tests (test/integration/k8s/prometheus-rules.test.ts: `promtool check rules` and
# `promtool test rules`). The module github.com/prometheus/prometheus is versioned v0.3MM.P for
# Prometheus 3.MM.P: v0.316.0 is Prometheus 3.16.0. The first build downloads the module's
# dependencies and compiles for about 7 minutes (2 cores).
#
#   promtool.sh path    build once, then print the binary's path
set -euo pipefail
VERSION=v0.316.0
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DIR="$ROOT/.cache/promtool-$VERSION"
# shellcheck source=test/harness/go-module-build.sh
. "$ROOT/test/harness/go-module-build.sh"

case "${1:-path}" in
  path)
    if [ ! -x "$DIR/promtool" ]; then
      printf '[promtool] building promtool %s from the Go module proxy (first run only, about 7 minutes)\n' "$VERSION" >&2
      go_module_build github.com/prometheus/prometheus "$VERSION" cmd/promtool "$DIR"
    fi
    echo "$DIR/promtool"
    ;;
  *)
    printf '[promtool] usage: promtool.sh path\n' >&2
    exit 2
    ;;
esac
