#!/usr/bin/env bash
# Routing overhead: requests at a fixed rate through a kinglet route to a stand-in remote that answers
# at once, against the same requests sent to that remote directly; the difference is what kinglet adds
# (HTTP in and out, parsing, the policy, metering, headers, metrics, the ledger record) without any
# model time. Usage: bench/route_overhead.sh [rate=200] [seconds=10] [ledger=none|sqlite]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
: "${KINGLET:=$here/../build/kinglet}"
export KINGLET
exec node "$here/route_overhead.js" "$@"
