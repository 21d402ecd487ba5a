// Reference outputs of llama.cpp for the low-bit weight types (Q2_K, Q3_K, IQ4_XS, IQ4_NL), read by
// tests/model/lowbit_reference_test.cpp. Unlike scripts/make_arch_refs.mjs, the model files themselves
// come from llama.cpp: kinglet cannot write these types, so llama.cpp's own quantizer (llref, see
// ../shared/peers/llama.cpp/README.md) turns a `kinglet synth --shape tiny-lowbit` F32 model into
// tests/data/lowbit/tiny-lowbit-<recipe>.gguf (committed, a few hundred KB each), and llama.cpp
// (node-llama-cpp's prebuilt CPU backend, as in make_arch_refs.mjs) evaluates each of them:
//
//   LLAMACPP_PEER_DIR=/tmp/llpeer node scripts/make_lowbit_refs.mjs build/kinglet [recipe ...]
//
// Per file: the logits' top 10 at every position of a fixed 40-token prompt fed one token per batch
// (llama.cpp's vector dot products, whose summation order kinglet follows), then 16 greedy steps.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync, rmSync } from "node:fs";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { load_peer } from "./llamacpp_peer_load.mjs";
import { tmpdir } from "node:os";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const kinglet = resolve(process.argv[2] ?? "build/kinglet");
const llref = process.env.LLREF ?? resolve(root, "..", "shared", "peers", "llama.cpp", "llref");
// Recipes of llama.cpp's quantizer and the types each writes for tiny-lowbit (kinglet info):
// q2_k: Q2_K + Q3_K (+ Q6_K output); q3_k_m: Q3_K + Q4_K + Q5_K; iq4_xs: IQ4_XS; iq4_nl: IQ4_NL.
const RECIPES = ["q2_k", "q3_k_m", "iq4_xs", "iq4_nl"];
const only = process.argv.slice(3);
const SHAPE = "tiny-lowbit", SEED = 7, N_PROMPT = 40, N_GEN = 16, TOP = 10, N_CTX = 256;
const vocab = "tests/data/lowbit/tokenizer.json";

function prompt_ids() {
  let s = 20261126;
  const ids = [1];
  while (ids.length < N_PROMPT) {
    s = (s * 1103515245 + 12345) % 2147483648;
    ids.push(3 + (s % 317));
  }
  return ids;
}

const { llama, version: peer_version } = await load_peer("make_lowbit_refs.mjs", 2);

const top = (logits) => {
  const arr = [...logits.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, TOP);
  return arr.map(([id, v]) => [id, Number(v.toFixed(5))]);
};

const out_dir = join(root, "tests", "data", "lowbit");
mkdirSync(out_dir, { recursive: true });
const work = join(tmpdir(), `kinglet-lowbit-refs-${process.pid}`);
mkdirSync(work, { recursive: true });
const f32 = join(work, "f32.gguf");
execFileSync(kinglet, ["synth", "--shape", SHAPE, "--vocab", join(root, vocab), "--type", "f32", "--seed",
                       String(SEED), "-o", f32], { stdio: ["ignore", "ignore", "inherit"] });
for (const recipe of RECIPES) {
  if (only.length && !only.includes(recipe)) continue;
  const name = `${SHAPE}-${recipe}`;
  const file = join(out_dir, `${name}.gguf`);
  execFileSync(llref, ["quantize", f32, file, recipe], { stdio: ["ignore", "ignore", "inherit"] });
  const sha256 = createHash("sha256").update(readFileSync(file)).digest("hex");
  const model = await llama.loadModel({ modelPath: file, gpuLayers: 0, useMmap: true });
  const ctx = await model.createContext({ contextSize: N_CTX, batchSize: 128, flashAttention: true, threads: 2 });
  const seq = ctx.getSequence();
  const ids = prompt_ids();
  const prompt_top = [];
  for (const t of ids) {
    const r = await seq.controlledEvaluate([[t, { generateNext: { logits: true } }]]);
    prompt_top.push(top(r[0].next.logits));
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
    about: "llama.cpp's logits for a file llama.cpp's quantizer wrote; regenerate with scripts/make_lowbit_refs.mjs",
    reference: `llama.cpp via node-llama-cpp ${peer_version} (CPU, flash attention, F16 KV cache, one token per batch)`,
    model: `${name}.gguf`, recipe, shape: SHAPE, seed: SEED, sha256, n_ctx: N_CTX,
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
