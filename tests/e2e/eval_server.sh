#!/usr/bin/env bash
# `kinglet eval --target server:URL#MODEL`: a second kinglet process (kinglet serve on a loopback port)
# answers through the router's HTTP client. Cross-check: greedy free-text answers and token counts of
# the served model equal those of the same file run in-process as a local target, case by case, with
# -j 3 requests in flight.
set -euo pipefail
: "${KINGLET:?path of the kinglet binary}" "${KINGLET_SHARED_DIR:?path of the shared folder}"
model="$KINGLET_SHARED_DIR/models/stories260K/model-f32.gguf"
work="$(mktemp -d)"
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT

for s in "Once upon a time" "Lily saw a" "Tom had a big" "One day, a little" "The sun was" "She wanted to"; do
  printf '{"text":"%s","expected":"x"}\n' "$s"
done >"$work/cases.jsonl"

printf 'models:\n  tiny: { path: %s, kv_type: f32 }\n' "$model" >"$work/kinglet.yaml"
"$KINGLET" serve --config "$work/kinglet.yaml" --port 0 >"$work/serve.out" 2>"$work/serve.err" &
server=$!
port=""
for _ in $(seq 1 300); do
  port=$(sed -n 's#.*listening on http://127.0.0.1:\([0-9]*\).*#\1#p' "$work/serve.out")
  [ -n "$port" ] && curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  sleep 0.1
done
[ -n "$port" ] || { cat "$work/serve.err" >&2; exit 1; }

"$KINGLET" eval -d "$work/cases.jsonl" --input-field text --expected-field expected --grader contains \
  --max-tokens 12 --request text --kv-type f32 --template '{{ input }}' \
  --target "server:http://127.0.0.1:$port#tiny" --target "local:$model" -j 3 -q \
  --results "$work/results.jsonl" --json >"$work/summary.json"

node - "$work/results.jsonl" <<'JS'
const fs = require("fs");
const rows = fs.readFileSync(process.argv[2], "utf8").trim().split("\n").map(JSON.parse).filter((r) => r.target);
const by = {};
for (const r of rows) (by[r.id] ??= {})[r.target] = r;
const ids = Object.keys(by);
if (ids.length !== 6) throw new Error(`expected 6 cases, got ${ids.length}`);
for (const id of ids) {
  const { tiny, "model-f32": local } = by[id];
  if (!tiny || !local || typeof tiny.prediction !== "string") throw new Error(`case ${id}: missing a target: ${JSON.stringify(by[id])}`);
  if (tiny.error) throw new Error(`case ${id}: server target failed: ${tiny.error}`);
  if (!(tiny.completion_tokens > 0) || !(tiny.prompt_tokens > 0)) throw new Error(`case ${id}: no usage from the server`);
  if (tiny.prediction !== local.prediction)
    throw new Error(`case ${id}: server answered ${JSON.stringify(tiny.prediction)}, in-process ${JSON.stringify(local.prediction)}`);
  if (tiny.prompt_tokens !== local.prompt_tokens || tiny.completion_tokens !== local.completion_tokens)
    throw new Error(`case ${id}: token counts differ: ${JSON.stringify([tiny, local])}`);
}
console.log(`eval_server: ok (${ids.length} cases, server answers equal in-process answers)`);
JS

# --response-format json_schema: both targets answer under the schema (the local one by constrained
# decoding in-process, the server through response_format), so their greedy answers still agree; every
# answer is a prefix of an instance, and every finished one parses and is one.
printf '{"type":"object","properties":{"kind":{"enum":["cat","dog","bird"]},"legs":{"type":"integer"}},"required":["kind","legs"],"additionalProperties":false}' >"$work/schema.json"
for s in "Once upon a time" "Lily saw a" "Tom had a big"; do printf '{"text":"%s","expected":{"kind":"cat"}}\n' "$s"; done >"$work/json_cases.jsonl"
"$KINGLET" eval -d "$work/json_cases.jsonl" --input-field text --expected-field expected --grader json \
  --json-schema "$work/schema.json" --response-format json_schema --max-tokens 160 --request text --kv-type f32 \
  --template '{{ input }}' --target "server:http://127.0.0.1:$port#tiny" --target "local:$model" -j 2 -q \
  --results "$work/json_results.jsonl" --json >"$work/json_summary.json"
node - "$work/json_results.jsonl" <<'JS'
const fs = require("fs");
const rows = fs.readFileSync(process.argv[2], "utf8").trim().split("\n").map(JSON.parse);
const header = rows.find((r) => r.kinglet_eval);
if (header.response_format !== "json_schema") throw new Error(`header: ${JSON.stringify(header)}`);
const by = {};
for (const r of rows.filter((r) => r.target)) (by[r.id] ??= {})[r.target] = r;
let finished = 0;
for (const [id, { tiny, "model-f32": local }] of Object.entries(by)) {
  if (tiny.error || local.error) throw new Error(`case ${id}: ${tiny.error || local.error}`);
  if (tiny.prediction !== local.prediction) throw new Error(`case ${id}: ${JSON.stringify([tiny.prediction, local.prediction])}`);
  if (!tiny.prediction.startsWith("{")) throw new Error(`case ${id}: not JSON mode: ${JSON.stringify(tiny.prediction)}`);
  if (tiny.finish !== "stop") continue;
  const v = JSON.parse(tiny.prediction);
  if (!["cat", "dog", "bird"].includes(v.kind) || !Number.isInteger(v.legs) || Object.keys(v).length !== 2)
    throw new Error(`case ${id}: not an instance: ${tiny.prediction}`);
  if (tiny.schema_valid !== true) throw new Error(`case ${id}: the schema grader disagrees: ${JSON.stringify(tiny)}`);
  finished++;
}
console.log(`eval_server: json_schema ok (${Object.keys(by).length} cases, ${finished} finished objects)`);
JS
