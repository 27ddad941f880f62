#!/usr/bin/env bash
# Prints the bin folder of a Node.js >= 24 for the Makefile to put first on PATH.
#
# The machine's own node is used when it is new enough. Otherwise the pinned official build is
# taken from the npm registry (package node-linux-<arch>, the same binaries as nodejs.org ships),
# checked against the integrity pinned below, and unpacked into .cache/node-v<version>. npm itself
# is the machine's: it runs on whatever `node` is first on PATH.
#
#   ensure-node.sh          print the bin folder (installs the pinned build if needed)
#   IDRIFT_FORCE_PINNED_NODE=1 ensure-node.sh   ignore the machine's node
set -euo pipefail

NODE_VERSION=24.21.0
MIN_MAJOR=24
declare -A INTEGRITY=(
  [x64]='sha512-3nULszZ5X0fciYpG0t6TrdApJzAn8+FlINP6OiMX7V8HrvpATPN936U1LlReOJriLRa4e8yEqQBYCnLyPNAs7Q=='
  [arm64]='sha512-FpJRPEz2OvvTLfjIOlNGFY9JLPMKgl5m+d4oGYBLg24kJ1mmvN1Zl/HPJgF4HDaJ51ISev1l1cRZ/DM+keXW5g=='
)

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
log() { printf '[node] %s\n' "$*" >&2; }

if [ "${IDRIFT_FORCE_PINNED_NODE:-0}" != 1 ] && command -v node >/dev/null 2>&1; then
  major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  if [ "$major" -ge "$MIN_MAJOR" ]; then
    dirname "$(command -v node)"
    exit 0
  fi
fi

case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) log "no pinned Node build for $(uname -m)"; exit 1 ;;
esac
dir="$ROOT/.cache/node-v$NODE_VERSION-$arch"
if [ ! -x "$dir/bin/node" ]; then
  log "installing Node $NODE_VERSION ($arch) from the npm registry package node-linux-$arch into .cache"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "node-linux-$arch@$NODE_VERSION" >/dev/null 2>&1)
  tgz="$tmp/node-linux-$arch-$NODE_VERSION.tgz"
  got="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
  if [ "$got" != "${INTEGRITY[$arch]}" ]; then
    log "integrity mismatch for node-linux-$arch@$NODE_VERSION: got $got"
    exit 1
  fi
  rm -rf "$dir.partial" && mkdir -p "$dir.partial"
  tar -xzf "$tgz" -C "$dir.partial" --strip-components=1
  "$dir.partial/bin/node" --version >/dev/null
  rm -rf "$dir" && mv "$dir.partial" "$dir"
fi
echo "$dir/bin"
