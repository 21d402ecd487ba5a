#!/usr/bin/env bash
# kinglet run --temp 0 --json against the independent references: llama2.c's greedy runs on the F32
# files (F32 KV cache: prompt ids and every generated id exactly, top-10 logits within 0.001) and
# llama.cpp's on the Q8_0 files (ids up to the first near tie). Also: bad input exits 1 with a
# message naming the input, never a crash.
set -euo pipefail
: "${KINGLET:?path of the kinglet binary}" "${KINGLET_SHARED_DIR:?path of the shared folder}"

node - "$KINGLET" "$KINGLET_SHARED_DIR/models" <<'JS'
"use strict";
const fs = require("fs");
const path = require("path");
const assert = require("assert");
const { execFileSync, spawnSync } = require("child_process");
const [kinglet, models] = process.argv.slice(2);

function run(args) {
  return JSON.parse(execFileSync(kinglet, ["run", "--json", "--temp", "0", ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }));
}

let steps = 0;
for (const model of ["stories260K", "aidreams260K"]) {
  const ref = JSON.parse(fs.readFileSync(path.join(models, model, "ref-llama2c-greedy.json"), "utf8"));
  const gguf = path.join(models, model, "model-f32.gguf");
  for (const r of ref.results) {
    const out = run(["-m", gguf, "-p", r.prompt, "-n", String(r.ids.length), "--kv-type", "f32", "--ignore-eos", "--top-logits", "10"]);
    assert.deepStrictEqual(out.prompt_tokens, r.prompt_ids, `${model}: prompt ids of ${JSON.stringify(r.prompt)}`);
    assert.deepStrictEqual(out.tokens, r.ids, `${model}: generated ids of ${JSON.stringify(r.prompt)}`);
    r.top10.forEach((step, i) => {
      const ours = new Map(out.top_logits[i].map(([id, l]) => [id, l]));
      for (const [id, logit] of step) {
        assert.ok(ours.has(id), `${model} ${JSON.stringify(r.prompt)} step ${i}: id ${id} not in kinglet's top 10`);
        assert.ok(Math.abs(ours.get(id) - logit) <= 0.001, `${model} step ${i} id ${id}: ${ours.get(id)} vs ${logit}`);
      }
      steps++;
    });
  }
}

// llama.cpp's Q8_0 runs (default F16 KV cache): ids exactly until the first recorded margin below 0.07,
// the README's near tie for an engine whose rounding differs from llama.cpp's (kinglet's Q8_0 dot sums a
// block as one integer; tests/model/forward_test.cpp's LlamaCppRef says why and what it measured).
for (const model of ["stories260K", "aidreams260K", "random256"]) {
  const ref = JSON.parse(fs.readFileSync(path.join(models, model, "ref-llamacpp-q8_0.json"), "utf8"));
  const gguf = path.join(models, model, "model-q8_0.gguf");
  for (const r of ref.results) {
    let n = 0;
    while (n < r.ids.length && r.top10[n][0][1] - r.top10[n][1][1] >= 0.07) n++;
    if (n === 0) continue;
    const out = run(["-m", gguf, "-p", r.prompt, "-n", String(n), "--ignore-eos"]);
    assert.deepStrictEqual(out.prompt_tokens, r.prompt_ids);
    assert.deepStrictEqual(out.tokens, r.ids.slice(0, n), `${model} q8_0: ${JSON.stringify(r.prompt)}`);
    steps += n;
  }
}

// --kv-type q8_0 on random256 (head size 32): ids equal llama.cpp's up to the first step whose margin
// is below 0.4, twice the logit tolerance tests/model/forward_test.cpp (Q8_0KvRef) justifies.
{
  const ref = JSON.parse(fs.readFileSync(path.join(models, "random256", "ref-llamacpp-q8_0.json"), "utf8"));
  for (const r of ref.results) {
    let n = 0;
    while (n < r.ids.length && r.top10[n][0][1] - r.top10[n][1][1] >= 0.4) n++;
    if (n === 0) continue;
    const out = run(["-m", path.join(models, "random256", "model-q8_0.gguf"), "-p", r.prompt, "-n", String(n), "--ignore-eos", "--kv-type", "q8_0"]);
    assert.deepStrictEqual(out.tokens, r.ids.slice(0, n), `random256 q8_0 with a q8_0 KV cache: ${JSON.stringify(r.prompt)}`);
    steps += n;
  }
}

// Bad input: a clear message naming the input, exit status 1.
const bad = path.join(require("os").tmpdir(), `kinglet-bad-${process.pid}.gguf`);
fs.writeFileSync(bad, Buffer.concat([Buffer.from("GGUF"), Buffer.from([3, 0, 0, 0]), Buffer.alloc(8, 0xff)]));
for (const [args, want] of [
  [["run", "-m", bad, "-p", "x"], bad],
  [["run", "-m", "/nonexistent.gguf", "-p", "x"], "/nonexistent.gguf"],
  [["run", "-m", path.join(models, "stories260K", "model-f32.gguf"), "-p", "x", "--kv-type", "q3"], "--kv-type must be f16, f32 or q8_0"],
  // head size 8: a q8_0 cache is refused naming the model and the types it can use
  [["run", "-m", path.join(models, "stories260K", "model-f32.gguf"), "-p", "x", "--kv-type", "q8_0"], "model 'stories260K' cannot use a q8_0 KV cache"],
  [["bench", "-m", path.join(models, "aidreams260K", "model-f32.gguf"), "--kv-type", "q8_0"], "use KV type f16 or f32"],
]) {
  const p = spawnSync(kinglet, args, { encoding: "utf8" });
  assert.strictEqual(p.status, 1, `${args.join(" ")}: exit ${p.status}, stderr ${p.stderr}`);
  assert.ok(p.stderr.includes(want), `${args.join(" ")}: message should name ${want}: ${p.stderr}`);
}
fs.unlinkSync(bad);
console.log(`run_reference: ${steps} generated steps match the references`);
JS
