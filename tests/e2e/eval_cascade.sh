#!/usr/bin/env bash
# kinglet eval --calibrate ROUTE end to end: a labelled dataset written here, a config whose cascade
# route has the tiny trained model (Q8_0) as its small step with label constraints and the same model
# in F32 as its large step; calibration to a target escalation rate on the calibration split, the
# achieved rate on the untouched test split within binomial tolerance of the target, --write-config
# puts the chosen threshold into the file; then a run killed half-way and resumed ends with exactly
# the numbers of an uninterrupted run.
set -euo pipefail
: "${KINGLET:?path of the kinglet binary}" "${KINGLET_SHARED_DIR:?path of the shared folder}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

node - "$KINGLET" "$KINGLET_SHARED_DIR/models/stories260K" "$work" <<'JS'
"use strict";
const assert = require("assert");
const fs = require("fs");
const path = require("path");
const { spawn, spawnSync } = require("child_process");
const [kinglet, models, work] = process.argv.slice(2);

// Story openings whose next word is one of the labels; the expected label is the word that follows in
// the sentence the opening was cut from.
const labels = ["girl", "boy", "dog", "cat", "ball", "park"];
const frames = [
  ["Once upon a time, there was a little", "girl"], ["Once upon a time, there was a little", "boy"],
  ["One day, Lily went to the", "park"], ["Tom and his mom went to the", "park"],
  ["Lily saw a big", "dog"], ["Tim had a red", "ball"], ["The little girl had a pet", "cat"],
  ["Sue played with her", "ball"], ["He saw a small", "cat"], ["There was a happy", "dog"],
];
const names = ["Lily", "Tom", "Sue", "Tim", "Ben", "Anna", "Max", "Mia"];
let data = "";
let id = 0;
for (let rep = 0; rep < 30; rep++)
  for (const [text, label] of frames) {
    const name = names[(rep + id) % names.length];
    data += JSON.stringify({ id: `t${id}`, input: `${name} was happy. ${text}`, expected: label }) + "\n";
    id++;
  }
fs.writeFileSync(path.join(work, "tickets.jsonl"), data);
const config = `# test config
models:
  small: { path: ${models}/model-q8_0.gguf, price: { input_per_mtok: 0.02, output_per_mtok: 0.02 } }
  large:
    path: ${models}/model-f32.gguf
    price: { input_per_mtok: 1.25, output_per_mtok: 10 }   # priced like a frontier API
routes:
  triage:
    policy: cascade
    labels: [${labels.join(", ")}]
    steps:
      - { target: small, signal: label_prob, min_confidence: 0.5 }
      - { target: large }
`;
const cfg = path.join(work, "kinglet.yaml");
fs.writeFileSync(cfg, config);

function evalArgs(results, extra = []) {
  return ["eval", "--calibrate", "triage", "--config", cfg, "-d", path.join(work, "tickets.jsonl"),
          "--template", "{{ input }}", "--split-fractions", "0,0.5,0.5", "--seed", "11", "--resamples", "200",
          "-t", "1", "--results", results, "--json", ...extra];
}
function run(args) {
  const r = spawnSync(kinglet, args, { encoding: "utf8", maxBuffer: 64 << 20 });
  assert(r.status === 0 || r.status === 2, `kinglet ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}
function stable(rep) {  // wall times differ between runs; everything else must not
  return JSON.parse(JSON.stringify(rep, (k, v) => (k === "mean_latency_ms" ? undefined : v)));
}

// 1. Calibrate to 20% escalation and write the threshold into the config.
const target = 0.2;
const rep = run(evalArgs(path.join(work, "full.jsonl"), ["--target-escalation", "20%", "--write-config",
                                                         "--traffic", "10000", "--machine-usd-per-hour", "0.2"]));
const c = rep.cascade;
assert.strictEqual(c.signal, "label_prob");
assert.strictEqual(c.n_calibration + c.n_test, 300);
assert.notStrictEqual(c.chosen, null, "a threshold meets 20%");
const nCal = c.n_calibration, nTest = c.n_test;
assert(c.chosen.calibration_escalation_rate <= target + 1e-12);
assert(c.chosen.calibration_escalation_rate >= target - 3 / nCal, "the curve moves in small steps");
const achieved = c.test.escalation_rate.estimate;
const tol = 3 * Math.sqrt((target * (1 - target)) / nTest) + 3 / nCal;
assert(Math.abs(achieved - target) <= tol, `test escalation ${achieved} within ${tol} of ${target}`);
assert(c.test.escalation_rate.lo <= achieved && achieved <= c.test.escalation_rate.hi);
// Every signal's AUROC is reported, and the escalation rate is what the threshold implies on the test rows.
for (const s of ["label_prob", "margin", "mean_logprob", "min_logprob"]) assert(s in c.signal_auroc);
const rows = fs.readFileSync(path.join(work, "full.jsonl"), "utf8").trim().split("\n").slice(1).map(JSON.parse);
const smallTest = rows.filter((r) => r.target === "small" && r.split === "test");
assert.strictEqual(smallTest.length, nTest);
const escalated = smallTest.filter((r) => r.label_prob < c.chosen.threshold).length;
assert.strictEqual(escalated / nTest, achieved);
// The projected month, recomputed from the rows: tokens per request are the large step's test-split
// means, a request busies a small-step machine for its mean latency.
{
  const mean = (rs, f) => rs.reduce((a, r) => a + f(r), 0) / rs.length;
  const largeTest = rows.filter((r) => r.target === "large" && r.split === "test");
  const inTok = mean(largeTest, (r) => r.prompt_tokens), outTok = mean(largeTest, (r) => r.completion_tokens);
  const perRequest = (inTok * 1.25 + outTok * 10) / 1e6;
  const allApi = 10000 * 30 * perRequest;
  const seconds = mean(smallTest, (r) => r.latency_ms) / 1000;
  const machines = Math.max(1, Math.ceil((10000 * seconds) / 86400));
  const allSlm = machines * 0.2 * 24 * 30;
  const opt = Object.fromEntries(c.projection.options.map((o) => [o.name, o]));
  const close = (a, b) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));
  assert(close(opt.all_api.monthly_usd, allApi), `all_api ${opt.all_api.monthly_usd} vs ${allApi}`);
  assert(close(opt.all_slm.monthly_usd, allSlm), `all_slm ${opt.all_slm.monthly_usd} vs ${allSlm}`);
  assert(close(opt.hybrid.monthly_usd, allSlm + achieved * allApi), "hybrid = machines + escalated share of the API");
}
// Both targets answered every case; the side-by-side report has both and their paired comparison.
assert.deepStrictEqual(rep.targets.map((t) => t.name), ["small", "large"]);
assert.strictEqual(rep.comparisons.length, 1);
// The config now holds the chosen threshold, the rest of the file unchanged.
const written = fs.readFileSync(cfg, "utf8");
const m = written.match(/- \{ target: small, signal: label_prob, min_confidence: ([^ }]+) \}/);
assert(m, written);
assert(Math.abs(Number(m[1]) - c.chosen.threshold) <= 1e-5 * Math.abs(c.chosen.threshold));
assert.strictEqual(written.replace(m[0], ""), config.replace("- { target: small, signal: label_prob, min_confidence: 0.5 }", ""));

// 2. Kill a run half-way, resume it, and get the same numbers.
(async () => {
  const cut = path.join(work, "cut.jsonl");
  const args = evalArgs(cut, ["--target-escalation", "20%", "-q"]);
  const child = spawn(kinglet, args, { stdio: "ignore" });
  const exited = new Promise((r) => child.on("exit", r));
  const total = 600 + 1;
  let lines = 0;
  for (;;) {
    lines = fs.existsSync(cut) ? fs.readFileSync(cut, "utf8").split("\n").length - 1 : 0;
    if (lines >= total / 2 || child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 2));
  }
  child.kill("SIGKILL");
  await exited;
  const before = fs.readFileSync(cut, "utf8").split("\n").length - 1;
  assert(before < total, `the run was killed before it finished (${before} of ${total} lines)`);
  const resumed = run(args);
  const after = fs.readFileSync(cut, "utf8").trim().split("\n");
  assert.strictEqual(after.length, total, "every answer once");
  const uninterrupted = run(evalArgs(path.join(work, "full.jsonl"), ["--target-escalation", "20%", "-q"]));
  assert.deepStrictEqual(stable(resumed), stable(uninterrupted));
  console.log(`eval_cascade: ok (threshold ${c.chosen.threshold}, test escalation ${achieved}, killed at ${before}/${total})`);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
JS
