#!/usr/bin/env bash
# kinglet cost on a PostgreSQL ledger that another writer (psql) filled: kinglet creates the schema,
# psql inserts rows into it, and kinglet's totals and per-route sums equal PostgreSQL's own SUMs.
# Needs Debian's postgresql (scripts/deps.sh); without it: skipped (77), or failed under CI=true.
set -euo pipefail
: "${KINGLET:?path of the kinglet binary}" "${KINGLET_SOURCE_DIR:?source folder}"
dir=$(mktemp -d /tmp/kinglet-cost-XXXXXX)
pgdir=$(mktemp -d /tmp/kinglet-pg-XXXXXX)  # not inside $dir: the server's user must reach it
pg="$KINGLET_SOURCE_DIR/scripts/pg_throwaway.sh"
cleanup() { "$pg" stop "$pgdir" || true; rm -rf "$dir" "$pgdir"; }
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
psql() { command psql -X -q -v ON_ERROR_STOP=1 -At "$base" "$@"; }
psql -c "CREATE DATABASE ledger"
url="${base/\/postgres\?//ledger?}"
db() { command psql -X -q -v ON_ERROR_STOP=1 -At "$url" "$@"; }

# An empty ledger: the schema is created, the report is all zeros.
"$KINGLET" cost --ledger "$url" --json >"$dir/empty.json"
node -e 'const r=require(process.argv[1]); if (r.totals.requests!==0||r.by_route.length!==0) process.exit(1)' "$dir/empty.json"

# 200 rows written by PostgreSQL itself: times over 3 days of December 2025, three routes.
db -c "INSERT INTO requests (id, time_ms, tenant, key_id, route, endpoint, provider, escalated, budget_limited,
         confidence, signal, prompt_tokens, completion_tokens, cost_usd, remote_cost_usd, latency_ms, ttft_ms,
         status, finish_reason)
       SELECT 'r' || i, 1764547200000 + (i * 1234567) % (3 * 86400000), 't' || (i % 2), '',
              (ARRAY['triage','chat','support'])[1 + i % 3], 'chat', CASE WHEN i % 4 = 0 THEN 'large' ELSE 'small' END,
              (i % 4 = 0)::int, 0, NULL, '', 100 + i, 10 + i % 7, (i % 4 = 0)::int * 0.001 * i + 0.00001 * i,
              (i % 4 = 0)::int * 0.001 * i, 100, 10, 200, 'stop'
       FROM generate_series(1, 200) AS i"

"$KINGLET" cost --ledger "$url" --from 2025-12-01 --to 2025-12-02 --baseline large --price-in 2 --price-out 8 \
  --json >"$dir/report.json"
want_window="time_ms >= 1764547200000 AND time_ms < 1764720000000"
read -r n pt ct cost esc <<<"$(db -F ' ' -c "SELECT COUNT(*), SUM(prompt_tokens), SUM(completion_tokens),
  SUM(cost_usd), SUM(escalated) FROM requests WHERE $want_window")"
routes=$(db -F ' ' -c "SELECT route, COUNT(*), SUM(cost_usd) FROM requests WHERE $want_window GROUP BY route ORDER BY route COLLATE \"C\"")
node - "$dir/report.json" "$n" "$pt" "$ct" "$cost" "$esc" "$routes" <<'JS'
const [file, n, pt, ct, cost, esc, routes] = process.argv.slice(2);
const r = require(file);
const t = r.totals;
const close = (a, b) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));
const fail = (m) => { console.error('FAIL: ' + m + '\n' + JSON.stringify(r, null, 1)); process.exit(1); };
if (t.requests !== +n || t.prompt_tokens !== +pt || t.completion_tokens !== +ct || t.escalated !== +esc)
  fail(`totals ${t.requests}/${t.prompt_tokens}/${t.completion_tokens}/${t.escalated} vs ${n}/${pt}/${ct}/${esc}`);
if (!close(t.cost_usd, +cost)) fail(`cost ${t.cost_usd} vs ${cost}`);
const base = (+pt * 2 + +ct * 8) / 1e6;
if (!close(r.baseline.cost_usd, base) || !close(r.baseline.savings_usd, base - +cost)) fail('baseline');
const want = routes.trim().split('\n').map((l) => l.split(' '));
if (r.by_route.length !== want.length) fail('route count');
want.forEach(([route, count, c], i) => {
  const g = r.by_route[i];
  if (g.route !== route || g.requests !== +count || !close(g.cost_usd, +c)) fail(`route ${route}`);
});
console.log(`ok: ${n} requests, $${cost} spent, baseline $${base.toFixed(6)}`);
JS
