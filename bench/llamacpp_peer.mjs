// llama.cpp as a benchmark peer on any x86-64 CPU: the prebuilt llama.cpp CPU backend that the npm
// package node-llama-cpp ships (every instruction-set variant; ggml picks the best one for this CPU at
// start-up), driven the way `llref bench` and llama-bench's pp/tg measure. It is used only when the
// peer binary in ../shared cannot run here; bench/llamacpp_peer.sh installs the package (outside the
// project's package.json: a peer, never a dependency) and runs this file.
//
//   node bench/llamacpp_peer.mjs bench MODEL [-p 128] [-n 64] [-t 2] [-r 3]
//
// Prints one JSON line: prefill_tps (a batch of P random token ids in a fresh context), decode_tps
// (N single-token steps after it), the CPU ms per token of each phase (user + system time of the whole
// process, every thread), medians over R repeats after one warm-up, model load excluded; then what ran.
import { resolve } from "node:path";
import { load_peer } from "../scripts/llamacpp_peer_load.mjs";

const args = process.argv.slice(2);
const usage = "usage: llamacpp_peer.mjs bench MODEL [-p 128] [-n 64] [-t 2] [-r 3]";
if (args[0] !== "bench" || !args[1]) {
  console.error(usage);
  process.exit(2);
}
const model_path = resolve(args[1]);
const opt = { p: 128, n: 64, t: 2, r: 3 };
for (let i = 2; i < args.length; i += 2) {
  const k = args[i].replace(/^-/, "");
  if (!(k in opt) || !/^\d+$/.test(args[i + 1] ?? "")) {
    console.error(usage);
    process.exit(2);
  }
  opt[k] = Number(args[i + 1]);
}

const { llama, version, tag } = await load_peer("llamacpp_peer.mjs (run bench/llamacpp_peer.sh)", opt.t);
const model = await llama.loadModel({ modelPath: model_path, gpuLayers: 0, useMmap: true });

// Random ids below the vocabulary's first 1000 entries past the first 100 (control tokens sit at
// either end of the vocabularies used here); a fixed seed, so every run feeds the same ids.
let seed = 12345;
const rand_token = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return 100 + (seed % 900);
};
const cpu_ms = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const runs = [];
for (let rep = 0; rep <= opt.r; ++rep) {
  // A fresh context each repeat, as llref bench does: the prompt never hits a cache.
  const ctx = await model.createContext({
    contextSize: Math.max(512, opt.p + opt.n + 16),
    batchSize: opt.p,
    threads: { ideal: opt.t, min: opt.t },
  });
  const seq = ctx.getSequence();
  const prompt = Array.from({ length: opt.p }, rand_token);
  let w0 = performance.now(), c0 = cpu_ms();
  await seq.evaluateWithoutGeneratingNewTokens(prompt);
  const pp_s = (performance.now() - w0) / 1000, pp_cpu = cpu_ms() - c0;
  w0 = performance.now();
  c0 = cpu_ms();
  for (let i = 0; i < opt.n; ++i) await seq.evaluateWithoutGeneratingNewTokens([rand_token()]);
  const tg_s = (performance.now() - w0) / 1000, tg_cpu = cpu_ms() - c0;
  await ctx.dispose();
  if (rep > 0)
    runs.push({ pp: opt.p / pp_s, tg: opt.n / tg_s, pp_cpu: pp_cpu / opt.p, tg_cpu: tg_cpu / opt.n });
}
console.log(
  JSON.stringify({
    prefill_tps: +median(runs.map((r) => r.pp)).toFixed(2),
    decode_tps: +median(runs.map((r) => r.tg)).toFixed(2),
    prefill_cpu_ms_per_token: +median(runs.map((r) => r.pp_cpu)).toFixed(3),
    decode_cpu_ms_per_token: +median(runs.map((r) => r.tg_cpu)).toFixed(3),
    threads: opt.t,
    repeats: opt.r,
    engine: `llama.cpp ${tag} (prebuilt CPU backend of node-llama-cpp ${version})`,
    system_info: llama.systemInfo,
  }),
);
await model.dispose();
await llama.dispose();
