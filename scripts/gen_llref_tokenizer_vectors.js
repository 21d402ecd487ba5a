#!/usr/bin/env node
// Writes tests/data/tokenizer/llref-<model>.json: token ids (with BOS, special tokens not parsed) that
// llama.cpp gives for the shared SentencePiece-vocabulary models, made with the peer build
// ../shared/peers/llama.cpp/llref ("llref tokenize MODEL TEXT"). The strings are the ones
// gen_tokenizer_vectors.js uses (minus those with a NUL, which a command line cannot carry) plus the
// reference prompts' continuations. kinglet's tests compare against these files; llref is never run
// at test time.
//
// Usage: node scripts/gen_llref_tokenizer_vectors.js [SHARED_DIR]   (default: ../shared)
"use strict";
const fs = require("fs");
const path = require("path");
const { execFileSync } = require("child_process");
const { commonStrings } = require("./gen_tokenizer_vectors.js");

const ROOT = path.resolve(__dirname, "..");
const SHARED = path.resolve(process.argv[2] || path.join(ROOT, "..", "shared"));
const LLREF = path.join(SHARED, "peers", "llama.cpp", "llref");
const MODELS = ["aidreams260K", "stories260K", "random256"];

for (const model of MODELS) {
  const dir = path.join(SHARED, "models", model);
  const texts = commonStrings().filter((t) => !t.includes("\u0000"));
  // Slices of the models' own generated text: pieces the vocabularies were built for.
  for (const f of fs.readdirSync(dir).filter((f) => f.startsWith("ref-") && f.endsWith(".json")).sort()) {
    for (const r of JSON.parse(fs.readFileSync(path.join(dir, f), "utf8")).results) {
      if (r.text) texts.push(r.text.slice(0, 120), r.prompt + r.text.slice(0, 60));
    }
  }
  const unique = [...new Set(texts)];
  const lines = unique.map((t) => {
    const out = execFileSync(LLREF, ["tokenize", path.join(dir, "model-f32.gguf"), t], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    });
    return "    " + JSON.stringify({ text: t, ids: JSON.parse(out) });
  });
  const doc =
    "{\n" +
    `  "model": ${JSON.stringify(model + "/model-f32.gguf")},\n` +
    '  "reference": "llama.cpp ec98e2002 (llref tokenize): with BOS, special tokens not parsed",\n' +
    '  "generator": "scripts/gen_llref_tokenizer_vectors.js",\n' +
    '  "cases": [\n' + lines.join(",\n") + "\n  ]\n}\n";
  fs.writeFileSync(path.join(ROOT, "tests", "data", "tokenizer", `llref-${model}.json`), doc);
  console.log(`llref-${model}.json: ${unique.length} strings`);
}
