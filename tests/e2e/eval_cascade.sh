#!/usr/bin/env bash
# kinglet eval --calibrate ROUTE end to end: a labelled dataset written here; a config whose cascade
# route has the tiny trained model (Q8_0) as its small step, with label constraints, and as its large
# step a remote provider that is a second kinglet process (the same model in F32 behind a
# label-constrained route), reached through the real HTTP client. Calibration to a target escalation
# rate on the calibration split; the achieved rate on the untouched test split must be within binomial
# tolerance of the target; --write-config puts the chosen threshold into the file, and the route run
# in-process with that file (route:triage on the test split) escalates exactly the cases the
# threshold says. Then a run killed half-way and resumed ends with exactly the numbers of an
# uninterrupted run: the dataset is a named pipe fed half the cases, so the run is killed at a known
# point whatever the machine's load (no timing), and a torn last line is added as a kill mid-write
# would leave it.
set -euo pipefail
: "${KINGLET:?path of the kinglet binary}" "${KINGLET_SHARED_DIR:?path of the shared folder}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

node - "$KINGLET" "$KINGLET_SHARED_DIR/models/stories260K" "$work" "$(dirname "$0")" <<'JS'
"use strict";
const assert = require("assert");
const fs = require("fs");
const path = require("path");
const { spawn, spawnSync, execFileSync } = require("child_process");
const [kinglet, models, work, here] = process.argv.slice(2);
const { startServer } = require(path.join(here, "serve", "harness.js"));

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

function evalArgs(cfg, results, extra = []) {
  return ["eval", "--calibrate", "triage", "--config", cfg, "-d", path.join(work, "tickets.jsonl"),
          "--template", "{{ input }}", "--request", "text", "--split-fractions", "0,0.5,0.5", "--seed", "11",
          "--resamples", "200", "-t", "1", "--results", results, "--json", ...extra];
}
function run(args) {
  const r = spawnSync(kinglet, args, { encoding: "utf8", maxBuffer: 64 << 20 });
  assert(r.status === 0 || r.status === 2, `kinglet ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}
function stable(rep) {  // wall times and the dataset's path differ between runs; everything else must not
  return JSON.parse(JSON.stringify(rep, (k, v) => (k === "mean_latency_ms" || k === "data" ? undefined : v)));
}
const readRows = (file) => fs.readFileSync(file, "utf8").trim().split("\n").slice(1).map(JSON.parse);

(async () => {
  // The "large" model: a second kinglet process serving the F32 model behind a label-constrained route.
  const largeCfg = path.join(work, "large.yaml");
  fs.writeFileSync(largeCfg, `models:
  big: { path: ${models}/model-f32.gguf, parallel: 2, threads: 1 }
routes:
  triage-big: { policy: cascade, labels: [${labels.join(", ")}], steps: [ { target: big } ] }
`);
  const large = await startServer(kinglet, ["-c", largeCfg]);
  try {
    const config = `# test config
models:
  small: { path: ${models}/model-q8_0.gguf, price: { input_per_mtok: 0.02, output_per_mtok: 0.02 } }
providers:
  large:   # priced like a frontier API
    base_url: "${large.url}/v1"
    model: triage-big
    timeout_s: 60
    price: { input_per_mtok: 1.25, output_per_mtok: 10 }
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

    // 1. Calibrate to 20% escalation and write the threshold into the config.
    const target = 0.2;
    const rep = run(evalArgs(cfg, path.join(work, "full.jsonl"), ["--target-escalation", "20%", "--write-config",
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
    const rows = readRows(path.join(work, "full.jsonl"));
    const smallTest = rows.filter((r) => r.target === "small" && r.split === "test");
    const largeTest = rows.filter((r) => r.target === "large" && r.split === "test");
    assert.strictEqual(smallTest.length, nTest);
    assert.strictEqual(largeTest.length, nTest);
    // The large step answered through HTTP: the remote provider's name, usage and the config's price.
    for (const r of largeTest) {
      assert.strictEqual(r.error, undefined, r.error);
      assert.strictEqual(r.provider, "large");
      assert(labels.includes(r.predicted), `the second kinglet answers a label: ${r.answer}`);
      assert(r.prompt_tokens > 0 && r.completion_tokens > 0);
      assert(Math.abs(r.cost_usd - (r.prompt_tokens * 1.25 + r.completion_tokens * 10) / 1e6) <= 1e-12);
    }
    const escalated = smallTest.filter((r) => r.label_prob < c.chosen.threshold).length;
    assert.strictEqual(escalated / nTest, achieved);
    // The projected month, recomputed from the rows: tokens per request are the large step's test-split
    // means, a request busies a small-step machine for its mean latency.
    {
      const mean = (rs, f) => rs.reduce((a, r) => a + f(r), 0) / rs.length;
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
    // Both steps answered every case; the side-by-side report has both and their paired comparison.
    assert.deepStrictEqual(rep.targets.map((t) => t.name), ["small", "large"]);
    assert.deepStrictEqual(rep.targets.map((t) => t.kind), ["model", "remote"]);
    assert.strictEqual(rep.comparisons.length, 1);
    // The config now holds the chosen threshold, the rest of the file unchanged.
    const written = fs.readFileSync(cfg, "utf8");
    const m = written.match(/- \{ target: small, signal: label_prob, min_confidence: ([^ }]+) \}/);
    assert(m, written);
    const threshold = Number(m[1]);
    assert(Math.abs(threshold - c.chosen.threshold) <= 1e-5 * Math.abs(c.chosen.threshold));
    assert.strictEqual(written.replace(m[0], ""), config.replace("- { target: small, signal: label_prob, min_confidence: 0.5 }", ""));

    // 2. The route with the written threshold, in-process through the router (what kinglet serve would
    // run), on the test split: it escalates exactly the cases the calibration escalated (the small step
    // was measured as the route runs it), each gets the answer its step gave, and the rate is the one
    // calibration reported for the test split.
    {
      const r = spawnSync(kinglet, ["eval", "--config", cfg, "--target", "route:triage", "-d", path.join(work, "tickets.jsonl"),
                                    "--labels", labels.join(","), "--template", "{{ input }}", "--request", "text",
                                    "--split", "test", "--split-fractions", "0,0.5,0.5", "--seed", "11", "--resamples", "200",
                                    "-t", "1", "-j", "2", "-q", "--json", "--results", path.join(work, "route.jsonl")],
                          { encoding: "utf8", maxBuffer: 64 << 20 });
      assert.strictEqual(r.status, 0, r.stderr);
      const routeRep = JSON.parse(r.stdout);
      const small = Object.fromEntries(smallTest.map((x) => [x.id, x]));
      const large = Object.fromEntries(largeTest.map((x) => [x.id, x]));
      const routeRows = readRows(path.join(work, "route.jsonl"));
      assert.strictEqual(routeRows.length, nTest);
      let n = 0;
      for (const x of routeRows) {
        const s = small[x.id];
        assert(Math.abs(x.attempts[0].confidence - s.label_prob) <= 1e-6,
               `case ${x.id}: router ${x.attempts[0].confidence}, calibration ${s.label_prob}`);
        assert.strictEqual(x.escalated, x.attempts[0].confidence < threshold);
        if (Math.abs(s.label_prob - c.chosen.threshold) > 1e-6)
          assert.strictEqual(x.escalated, s.label_prob < c.chosen.threshold, `case ${x.id}: the calibrated decision`);
        assert.strictEqual(x.predicted, x.escalated ? large[x.id].predicted : s.predicted);
        n += x.escalated;
      }
      assert.strictEqual(routeRep.targets[0].routing.escalated, n);
      assert.strictEqual(routeRep.targets[0].routing.escalation_rate.estimate, achieved, "the calibrated test-split rate");
    }

    // 3. Kill a run half-way, resume it, and get the same numbers. The dataset is a named pipe holding
    // half the cases and kept open, so the run can get no further than their answers: it is killed
    // there whatever the load, with no timing involved.
    const cut = path.join(work, "cut.jsonl");
    const pipe = path.join(work, "pipe", "tickets.jsonl");
    fs.mkdirSync(path.dirname(pipe));
    execFileSync("mkfifo", [pipe]);
    const cutArgs = evalArgs(cfg, cut, ["--target-escalation", "20%", "-q"]).map((a) => (a === path.join(work, "tickets.jsonl") ? pipe : a));
    const lines = data.split("\n").filter((l) => l);
    const half = lines.length / 2;
    const child = spawn(kinglet, cutArgs, { stdio: ["ignore", "ignore", "pipe"] });
    let childErr = "";
    child.stderr.on("data", (d) => (childErr += d));
    const exited = new Promise((r) => child.on("exit", r));
    const fd = fs.openSync(pipe, "r+");  // read-write: opening does not wait for the reader; never EOF
    fs.writeSync(fd, lines.slice(0, half).join("\n") + "\n");
    // Every case is in the calibration or the test split: two answers each; the last one may still be
    // in flight when the reader waits for more.
    const reached = 1 + 2 * half - 1;
    let before = 0;
    while (before < reached) {
      assert.strictEqual(child.exitCode, null, `the cut run ended early: ${childErr}`);
      await new Promise((r) => setTimeout(r, 50));
      before = fs.existsSync(cut) ? fs.readFileSync(cut, "utf8").split("\n").length - 1 : 0;
    }
    child.kill("SIGKILL");
    await exited;
    fs.closeSync(fd);
    before = fs.readFileSync(cut, "utf8").split("\n").length - 1;
    const total = 2 * lines.length + 1;
    assert(before >= reached && before <= 2 * half + 1, `killed after the first half's answers (${before} lines)`);
    // A kill in the middle of a write leaves a torn line; resume drops and redoes it.
    const torn = fs.readFileSync(path.join(work, "full.jsonl"), "utf8").split("\n")[before];
    fs.appendFileSync(cut, torn.slice(0, Math.floor(torn.length / 2)));
    // The same settings (the header names the dataset path): the pipe's path now holds the whole file.
    fs.unlinkSync(pipe);
    fs.copyFileSync(path.join(work, "tickets.jsonl"), pipe);
    const resumed = run(cutArgs);
    const after = fs.readFileSync(cut, "utf8").trim().split("\n");
    assert.strictEqual(after.length, total, "every answer once");
    const uninterrupted = run(evalArgs(cfg, path.join(work, "full.jsonl"), ["--target-escalation", "20%", "-q"]));
    assert.deepStrictEqual(stable(resumed), stable(uninterrupted));
    console.log(`eval_cascade: ok (threshold ${c.chosen.threshold}, test escalation ${achieved}, killed at ${before}/${total})`);
  } finally {
    await large.stop();
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
JS
