#!/usr/bin/env bash
# kinglet eval --target route:NAME / remote:NAME with --config: the route runs in-process through the
# router `kinglet serve` uses; its large step is a remote provider that is a second kinglet process
# (reached through the real HTTP client). Cross-checks, case by case, against targets measured on
# their own: a case that stays on the small step gets the label the local model generates (eval's own
# classifier) with the same label probability; an escalated case gets what the remote answers when
# asked directly (remote:large); escalation is exactly "the small step's probability < threshold"; the
# recorded cost is the attempts' tokens at the config's prices; the report's escalation rate and
# cost are those of the rows. A case given as chat messages reaches a provider as those messages.
set -euo pipefail
: "${KINGLET:?path of the kinglet binary}" "${KINGLET_SHARED_DIR:?path of the shared folder}"
exec node - "$KINGLET" "$KINGLET_SHARED_DIR/models/stories260K" "$(dirname "$0")" <<'JS'
"use strict";
const assert = require("assert/strict");
const fs = require("fs");
const os = require("os");
const path = require("path");
const { spawnSync } = require("child_process");
const [kinglet, models, here] = process.argv.slice(2);
const { startServer } = require(path.join(here, "serve", "harness.js"));

const work = fs.mkdtempSync(path.join(os.tmpdir(), "kinglet-eval-route-"));
const labels = ["girl", "boy", "dog", "cat", "ball", "park"];
const frames = [
  ["Once upon a time, there was a little", "girl"], ["One day, Lily went to the", "park"],
  ["Lily saw a big", "dog"], ["Tim had a red", "ball"], ["The little girl had a pet", "cat"],
  ["He saw a small", "cat"], ["There was a happy", "dog"], ["Once upon a time, there was a little", "boy"],
];
const names = ["Lily", "Tom", "Sue", "Tim", "Ben"];
let data = "";
for (let i = 0; i < 40; i++) {
  const [text, label] = frames[i % frames.length];
  data += JSON.stringify({ id: `c${i}`, input: `${names[i % names.length]} was happy. ${text}`, expected: label }) + "\n";
}
const dataset = path.join(work, "cases.jsonl");
fs.writeFileSync(dataset, data);
const PRICE = { small: [0.02, 0.04], large: [1.25, 10] };

function kingletEval(args, { ok = true } = {}) {
  const r = spawnSync(kinglet, ["eval", "-d", dataset, "--labels", labels.join(","), "--template", "{{ input }}",
                                "--request", "text", "-t", "1", "--resamples", "200", ...args],
                      { encoding: "utf8", maxBuffer: 64 << 20 });
  if (ok) assert.equal(r.status, 0, `kinglet eval ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  return r;
}
const rowsOf = (file) => fs.readFileSync(file, "utf8").trim().split("\n").slice(1).map(JSON.parse);
const byId = (rows, target) => Object.fromEntries(rows.filter((r) => r.target === target).map((r) => [r.id, r]));

(async () => {
  // The "large" model: a second kinglet serving the F32 model behind a label-constrained route.
  const largeCfg = path.join(work, "large.yaml");
  fs.writeFileSync(largeCfg, `models:
  big: { path: ${models}/model-f32.gguf, parallel: 2, threads: 1 }
routes:
  triage-big: { policy: cascade, labels: [${labels.join(", ")}], steps: [ { target: big } ] }
`);
  const large = await startServer(kinglet, ["-c", largeCfg]);
  try {
    const config = (threshold) => `models:
  small: { path: ${models}/model-q8_0.gguf, parallel: 2, threads: 1, price: { input_per_mtok: ${PRICE.small[0]}, output_per_mtok: ${PRICE.small[1]} } }
providers:
  large: { base_url: "${large.url}/v1", model: triage-big, timeout_s: 60, price: { input_per_mtok: ${PRICE.large[0]}, output_per_mtok: ${PRICE.large[1]} } }
  unused: { base_url: "http://127.0.0.1:9/v1", api_key_env: KINGLET_EVAL_ROUTE_UNSET_KEY }
routes:
  triage:
    policy: cascade
    labels: [${labels.join(", ")}]
    steps:
      - { target: small, signal: label_prob, min_confidence: ${threshold} }
      - { target: large }
`;
    const cfg = path.join(work, "kinglet.yaml");
    fs.writeFileSync(cfg, config(0.5));

    // 1. The steps measured on their own: the small model in-process, the remote provider through HTTP.
    const alone = path.join(work, "alone.jsonl");
    kingletEval(["--config", cfg, "--target", `local:${models}/model-q8_0.gguf`, "--target", "remote:large",
                 "-j", "2", "-q", "--results", alone, "--json"]);
    const aloneRows = rowsOf(alone);
    const local = byId(aloneRows, "model-q8_0"), remote = byId(aloneRows, "large");
    assert.equal(Object.keys(local).length, 40);
    assert.equal(Object.keys(remote).length, 40);
    for (const r of Object.values(remote)) {
      assert.equal(r.error, undefined, r.error);
      assert.equal(r.provider, "large");
      assert.ok(labels.includes(r.predicted), `the remote route answers a label: ${r.answer}`);
      const want = (r.prompt_tokens * PRICE.large[0] + r.completion_tokens * PRICE.large[1]) / 1e6;
      assert.ok(Math.abs(r.cost_usd - want) <= 1e-12, `remote cost ${r.cost_usd} vs ${want}`);
    }
    // A threshold between the small model's probabilities, so some cases stay and some escalate.
    const probs = Object.values(local).map((r) => r.probs[r.generated]).sort((a, b) => a - b);
    const threshold = (probs[14] + probs[15]) / 2;
    assert.ok(probs[14] < threshold && threshold < probs[15], "distinct probabilities around the threshold");
    fs.writeFileSync(cfg, config(threshold));

    // 2. The route, in-process, as kinglet serve would run it.
    const routed = path.join(work, "route.jsonl");
    const rep = JSON.parse(kingletEval(["--config", cfg, "--target", "route:triage", "-j", "2", "-q", "--results", routed,
                                        "--json"]).stdout);
    const route = byId(rowsOf(routed), "triage");
    let escalated = 0, total = 0;
    for (const [id, r] of Object.entries(route)) {
      assert.equal(r.error, undefined, r.error);
      const small = r.attempts[0];
      assert.equal(small.provider, "small");
      // The router's label probability equals eval's own classifier's for the label it generates.
      const p = local[id].probs[local[id].generated];
      assert.ok(Math.abs(small.confidence - p) <= 1e-4, `case ${id}: router ${small.confidence}, eval ${p}`);
      assert.equal(small.prompt_tokens, local[id].prompt_tokens);
      assert.equal(r.escalated, p < threshold, `case ${id}: escalated iff ${p} < ${threshold}`);
      if (r.escalated) {
        escalated++;
        assert.equal(small.outcome, "low_confidence");
        assert.equal(r.attempts.length, 2);
        assert.equal(r.provider, "large");
        assert.equal(r.predicted, remote[id].predicted, `case ${id}: the escalated answer is the remote's`);
        assert.equal(r.attempts[1].prompt_tokens, remote[id].prompt_tokens);
        assert.equal(r.attempts[1].completion_tokens, remote[id].completion_tokens);
        assert.equal(r.confidence, undefined, "the large step has no signal");
      } else {
        assert.equal(small.outcome, "ok");
        assert.equal(r.attempts.length, 1);
        assert.equal(r.provider, "small");
        assert.equal(r.predicted, local[id].generated, `case ${id}: the small model's generated label`);
        assert.ok(Math.abs(r.label_prob - p) <= 1e-4);
        assert.equal(r.signal, "label_prob");
      }
      const want = r.attempts.reduce((s, a) => {
        const [pin, pout] = PRICE[a.provider];
        return s + (a.prompt_tokens * pin + a.completion_tokens * pout) / 1e6;
      }, 0);
      assert.ok(Math.abs(r.cost_usd - want) <= 1e-12, `case ${id}: cost ${r.cost_usd} vs ${want}`);
      total += r.cost_usd;
    }
    assert.equal(escalated, 15, "the threshold sits between the 15th and 16th lowest probability");
    const t = rep.targets[0];
    assert.equal(t.kind, "route");
    assert.equal(t.routing.escalated, escalated);
    assert.equal(t.routing.escalation_rate.estimate, escalated / 40);
    assert.ok(t.routing.escalation_rate.lo <= escalated / 40 && escalated / 40 <= t.routing.escalation_rate.hi);
    assert.deepEqual(t.routing.answered_by, { small: 40 - escalated, large: escalated });
    assert.ok(Math.abs(t.cost.total - total) <= 1e-12 && t.cost.source === "router");

    // 3. The terminal report of the same run (resumed: nothing is asked again) says it too.
    const text = kingletEval(["--config", cfg, "--target", "route:triage", "-q", "--results", routed]).stdout;
    assert.match(text, new RegExp(`triage: escalated ${escalated} of 40 cases, rate 0\\.\\d+ \\[`));
    assert.match(text, /triage: cost [0-9.e-]+ USD in all/);

    // 4. Mistakes are named.
    let r = kingletEval(["--config", cfg, "--target", "route:nope"], { ok: false });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /no route 'nope'.*it declares triage/);
    r = kingletEval(["--target", "route:triage"], { ok: false });
    assert.match(r.stderr, /give --config FILE/);
    r = kingletEval(["--config", cfg, "--target", "remote:unused"], { ok: false });
    assert.match(r.stderr, /KINGLET_EVAL_ROUTE_UNSET_KEY/);
    // 5. A case given as a chat (`messages`, no template) reaches a provider as those messages: the answer
    // and its token counts are what the server's chat endpoint says to the same messages.
    const chats = [[{ role: "user", content: "Once upon a time" }],
                   [{ role: "system", content: "Tell a story." }, { role: "user", content: "Lily saw a" }]];
    const msgs = path.join(work, "chats.jsonl");
    fs.writeFileSync(msgs, chats.map((m, i) => JSON.stringify({ id: `m${i}`, messages: m, expected: "the" })).join("\n") + "\n");
    r = spawnSync(kinglet, ["eval", "-d", msgs, "--grader", "contains", "--max-tokens", "8", "--request", "chat",
                            "--target", `server:${large.url}#big`, "-q", "--results", path.join(work, "chats-out.jsonl")],
                  { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const chatRows = rowsOf(path.join(work, "chats-out.jsonl"));
    assert.equal(chatRows.length, chats.length);
    for (const [i, m] of chats.entries()) {
      const res = await fetch(`${large.url}/v1/chat/completions`, {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ model: "big", messages: m, max_tokens: 8, temperature: 0 }),
      });
      assert.equal(res.status, 200);
      const direct = await res.json();
      const row = chatRows.find((x) => x.id === `m${i}`);
      assert.equal(row.prediction, direct.choices[0].message.content, `chat case ${i}`);
      assert.equal(row.prompt_tokens, direct.usage.prompt_tokens);
      assert.equal(row.completion_tokens, direct.usage.completion_tokens);
      assert.ok(row.completion_tokens > 0 && row.prediction.length > 0, "an answer was generated");
    }
    console.log(`eval_route: ok (threshold ${threshold.toFixed(4)}, ${escalated}/40 escalated, cost ${total.toExponential(3)} USD)`);
  } finally {
    await large.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
JS
