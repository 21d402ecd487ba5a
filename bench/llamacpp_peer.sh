#!/usr/bin/env bash
# llama.cpp as a benchmark peer where ../shared/peers/llama.cpp/llref cannot run (it was compiled for
# AVX-512 and dies with SIGILL on other CPUs): installs node-llama-cpp's prebuilt llama.cpp CPU backend
# (pinned; from the npm registry, into LLAMACPP_PEER_DIR, default build/llamacpp-peer — never into the
# project's package.json: it is a peer, not a dependency) and runs bench/llamacpp_peer.mjs. Same
# command line and first two JSON fields as `llref bench`:
#   bench/llamacpp_peer.sh bench MODEL [-p 128] [-n 64] [-t 2] [-r 3]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
VERSION=3.22.1
export LLAMACPP_PEER_DIR="${LLAMACPP_PEER_DIR:-$here/../build/llamacpp-peer}"
if [ ! -f "$LLAMACPP_PEER_DIR/node_modules/@node-llama-cpp/linux-x64/package.json" ]; then
  mkdir -p "$LLAMACPP_PEER_DIR"
  [ -f "$LLAMACPP_PEER_DIR/package.json" ] || echo '{"name":"kinglet-llamacpp-peer","private":true}' >"$LLAMACPP_PEER_DIR/package.json"
  # --ignore-scripts: its postinstall would try to fetch or build binaries; the prebuilt package has them.
  npm install --prefix "$LLAMACPP_PEER_DIR" --no-audit --no-fund --ignore-scripts --omit=optional \
    "node-llama-cpp@$VERSION" "@node-llama-cpp/linux-x64@$VERSION" >&2
fi
exec node "$here/llamacpp_peer.mjs" "$@"
