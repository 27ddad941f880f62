#!/usr/bin/env bash
# Sourced by the harness scripts that build a pinned Go program from its source on the Go module
# proxy (GitHub release binaries cannot be reached from here): alertmanager.sh, promtool.sh.
#
#   go_module_build MODULE VERSION PACKAGE DIR [PREPARE]
# builds ./PACKAGE of MODULE@VERSION into DIR/<last element of PACKAGE>, from a writable copy of
# the module in DIR/src (with -mod=mod the go command may update go.sum; the module cache is
# read-only). PREPARE, a function name, runs in that copy first. GOWORK=off: a module that ships a
# go.work (Prometheus does) would otherwise refuse -mod=mod. -buildvcs=false: the copy sits inside
# this repository (.cache), whose commit is not the program's. The copy is removed afterwards.

go_module_build() {
  local module=$1 version=$2 package=$3 dir=$4 prepare=${5:-}
  local bin="$dir/${package##*/}" src
  command -v go >/dev/null || { printf 'needs Go (the build machines have it; apt-get install golang otherwise)\n' >&2; return 1; }
  src=$(GOWORK=off GOFLAGS=-mod=mod go mod download -json "$module@$version" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -d "$src" ] || { printf 'go mod download gave no source folder for %s@%s\n' "$module" "$version" >&2; return 1; }
  rm -rf "$dir" && mkdir -p "$dir"
  cp -r "$src" "$dir/src" && chmod -R u+w "$dir/src"
  if [ -n "$prepare" ]; then (cd "$dir/src" && "$prepare"); fi
  (cd "$dir/src" && GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=0 go build -buildvcs=false -o "$bin.partial" "./$package") >&2
  mv "$bin.partial" "$bin"
  rm -rf "$dir/src"
}
