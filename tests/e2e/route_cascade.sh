#!/usr/bin/env bash
# Routing end to end with real processes on loopback: a kinglet serving the small local model routes to
# a second kinglet playing the remote large model through the real HTTP client — cascades that stay
# local or escalate (forced by thresholds), label-constrained answers, fallbacks on remote 500 /
# time-out / refused connection, budgets, tier routes by tenant, domain routes by keyword and regex,
# headers, metrics and the ledger (tests/e2e/route/routing.js).
set -euo pipefail
: "${KINGLET:?path of the kinglet binary}" "${KINGLET_SHARED_DIR:?path of the shared folder}"
exec node "$(dirname "$0")/route/routing.js"
