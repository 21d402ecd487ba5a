#!/usr/bin/env bash
# Routing with a PostgreSQL ledger, end to end: two kinglet serve replicas share one ledger in a real
# PostgreSQL server, route to the small local model or escalate to a second kinglet playing the remote
# large model; the rows in PostgreSQL match exactly what the clients were served, one replica's remote
# spend counts against a tenant's budget on the other, and `kinglet cost --ledger postgresql://...`
# totals equal PostgreSQL's own sums (tests/e2e/route/postgres.js).
# Needs Debian's postgresql (scripts/deps.sh); without it: skipped (77), or failed under CI=true.
set -euo pipefail
: "${KINGLET:?path of the kinglet binary}" "${KINGLET_SHARED_DIR:?path of the shared folder}" \
  "${KINGLET_SOURCE_DIR:?source folder}"
pgdir=$(mktemp -d /tmp/kinglet-pg-XXXXXX)  # the server's user (nobody, under root) must reach it
pg="$KINGLET_SOURCE_DIR/scripts/pg_throwaway.sh"
cleanup() { "$pg" stop "$pgdir" || true; rm -rf "$pgdir"; }
trap cleanup EXIT
set +e
base=$("$pg" start "$pgdir")
status=$?
set -e
if [ "$status" = 3 ]; then
  if [ "${CI:-}" = true ]; then echo "FAIL: PostgreSQL is required in CI" >&2; exit 1; fi
  echo "skipped: no PostgreSQL server binaries" >&2
  exit 77
fi
[ "$status" = 0 ]
command psql -X -q -v ON_ERROR_STOP=1 -At "$base" -c "CREATE DATABASE ledger"
KINGLET_PG_URL="${base/\/postgres\?//ledger?}" node "$(dirname "$0")/route/postgres.js"
