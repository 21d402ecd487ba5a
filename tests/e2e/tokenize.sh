#!/usr/bin/env bash
# kinglet tokenize on the shared models: every reference prompt's ids (llama2.c's and llama.cpp's
# prompt_ids, BOS included) must come out exactly; --json pieces must spell the prompt; errors exit 1.
set -euo pipefail
: "${KINGLET:?path of the kinglet binary}" "${KINGLET_SHARED_DIR:?path of the shared folder}"

node - "$KINGLET" "$KINGLET_SHARED_DIR/models" <<'JS'
"use strict";
const fs = require("fs");
const path = require("path");
const assert = require("assert");
const { execFileSync, spawnSync } = require("child_process");
const [kinglet, models] = process.argv.slice(2);
let checked = 0;
for (const model of ["stories260K", "aidreams260K", "random256"]) {
  const gguf = path.join(models, model, "model-f32.gguf");
  for (const f of fs.readdirSync(path.join(models, model)).filter((f) => /^ref-.*\.json$/.test(f)).sort()) {
    for (const r of JSON.parse(fs.readFileSync(path.join(models, model, f), "utf8")).results) {
      const ids = JSON.parse(execFileSync(kinglet, ["tokenize", "-m", gguf, r.prompt], { encoding: "utf8" }));
      assert.deepStrictEqual(ids, r.prompt_ids, `${model}/${f}: ${JSON.stringify(r.prompt)}`);
      const noBos = JSON.parse(execFileSync(kinglet, ["tokenize", "--no-bos", "-m", gguf, r.prompt], { encoding: "utf8" }));
      assert.deepStrictEqual(noBos, r.prompt_ids.slice(1));
      checked++;
    }
  }
}
// --json: the pieces after BOS spell the prompt with the dummy-prefix space.
const stories = path.join(models, "stories260K", "model-f32.gguf");
const j = JSON.parse(execFileSync(kinglet, ["tokenize", "--json", "-m", stories, "Once upon a time"], { encoding: "utf8" }));
assert.deepStrictEqual(j.ids, [1, 403, 407, 261, 378]);
assert.strictEqual(j.n_tokens, 5);
assert.strictEqual(j.pieces[0], "<s>");
assert.strictEqual(j.pieces.slice(1).join(""), " Once upon a time");
// The text may come from standard input; --special turns "<s>" text into BOS.
const viaStdin = JSON.parse(execFileSync(kinglet, ["tokenize", "-m", stories, "-f", "-", "--special", "--no-bos"],
                                         { input: "<s>Once", encoding: "utf8" }));
assert.deepStrictEqual(viaStdin, [1, 403]);
// Errors: a missing model exits 1 with a message naming it.
const bad = spawnSync(kinglet, ["tokenize", "-m", "/nonexistent/model.gguf", "x"], { encoding: "utf8" });
assert.strictEqual(bad.status, 1);
assert.match(bad.stderr, /\/nonexistent\/model\.gguf/);
assert.ok(checked >= 40, `only ${checked} prompts checked`);
console.log(`tokenize e2e: ok (${checked} reference prompts)`);
JS
