// Turns the JSON lines bench/run_speed.sh collects into docs/benchmarks.md (stdout).
//   node bench/speed_report.mjs RESULTS.jsonl > docs/benchmarks.md
import { readFileSync } from "node:fs";

const lines = readFileSync(process.argv[2], "utf8").split("\n").filter((l) => l.trim());
const rows = lines.map((l) => JSON.parse(l));
const models = rows.filter((r) => r.kind === "model");
const bw = rows.filter((r) => r.kind === "bandwidth");
const machine = rows.find((r) => r.kind === "machine") || {};
const MiB = 1 << 20;

const gbs = bw.map((b) => b.result.median_gbs);
const bandwidth = gbs.length ? Math.max(...gbs) : NaN;  // the better of before/after: the floor is a best case
const f = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : "—");
const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? (a / b).toFixed(2) + "×" : "—");

const out = [];
out.push("# Benchmarks: kinglet and llama.cpp on the same files");
out.push("");
out.push("Written by `bench/run_speed.sh` — do not edit by hand; rerun it. Each model is written once by");
out.push("`kinglet synth` (real shape and vocabulary, random weights: speed does not depend on weight values),");
out.push("then `llref bench` (llama.cpp, see `../shared/peers/llama.cpp/README.md`) and `kinglet bench --json`");
out.push("run on that file one after the other: 128-token prefill batch, then 64 single-token decode steps,");
out.push("medians of the repeats after a warm-up, model load excluded. Compare ratios measured in one run,");
out.push("never absolute figures across runs or machines: shared machines move by ±10% or more.");
out.push("");
out.push(`- date ${machine.date || "?"}, commit \`${machine.commit || "?"}\`, CPU ${machine.cpu || "?"} (${machine.nproc || "?"} logical CPUs)`);
out.push(`- ${machine.kinglet_info || ""}`.trim());
out.push(`- threads ${machine.threads}, repeats ${machine.repeats}`);
out.push(
  `- streaming-read bandwidth ${bw.map((b) => `${b.when} ${f(b.result.median_gbs, 2)} GB/s`).join(", ")}: ` +
    `the floor below uses ${f(bandwidth, 2)} GB/s (\`${bw[0] ? bw[0].cmd : "bench/bandwidth"}\`)`,
);
out.push("- load average of the machine (1 min) when each model was measured: " +
  models.map((m) => `${m.shape} ${m.type} ${m.load}`).join(", "));
out.push("");
out.push("## Tokens per second");
out.push("");
out.push("Decode floor = bytes of weights read per token (every matrix, the output head included) / bandwidth.");
out.push("Targets of issue 4: kinglet ≥ 1.2× llama.cpp for prefill and decode on every row; Q8_0 1B decode ≥ 85% of its floor.");
out.push("");
out.push("| shape | type | weights read/token MiB | prefill kinglet | prefill llama.cpp | ratio | decode kinglet | decode llama.cpp | ratio | decode floor | kinglet / floor |");
out.push("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
for (const m of models) {
  const k = m.kinglet, l = m.llama || {};
  const floor = (bandwidth * 1e9) / (k.weights_mb * MiB);
  out.push(
    `| ${m.shape} | ${m.type} | ${f(k.weights_mb, 0)} | ${f(k.prefill_tps)} | ${f(l.prefill_tps)} | ${ratio(k.prefill_tps, l.prefill_tps)} | ` +
      `${f(k.decode_tps)} | ${f(l.decode_tps)} | ${ratio(k.decode_tps, l.decode_tps)} | ${f(floor)} | ${f((100 * k.decode_tps) / floor, 0)}% |`,
  );
}
const failed = models.filter((m) => m.llama && m.llama.error);
if (failed.length) {
  out.push("");
  out.push("llama.cpp did not run here:");
  for (const m of failed) out.push(`- ${m.shape} ${m.type}: ${m.llama.error}`);
}
out.push("");
out.push("## Memory");
out.push("");
out.push("Peak RSS of `kinglet bench` against its budget: the file (weights, mapped) + the KV cache, plus 10%.");
out.push("");
out.push("| shape | type | file MiB | KV MiB | peak RSS MiB | RSS / (file + KV) |");
out.push("|---|---|---:|---:|---:|---:|");
for (const m of models) {
  const k = m.kinglet;
  const budget = m.file_bytes / MiB + k.kv_mb;
  out.push(`| ${m.shape} | ${m.type} | ${f(m.file_bytes / MiB, 0)} | ${f(k.kv_mb)} | ${f(k.rss_mb, 0)} | ${f(k.rss_mb / budget, 3)} |`);
}
out.push("");
out.push("## Commands");
out.push("");
out.push("```sh");
out.push("bench/run_speed.sh   # everything below, then this file");
for (const b of bw.slice(0, 1)) out.push(b.cmd);
for (const m of models) {
  out.push(m.synth_cmd);
  out.push(m.llref_cmd);
  out.push(m.kinglet_cmd);
}
out.push("```");
out.push("");
out.push("Kernel micro-benchmarks (not part of this table): `cmake -S . -B build-bench -DKINGLET_BENCH=ON && ");
out.push("cmake --build build-bench && build-bench/bench/kernels_bench`.");
process.stdout.write(out.join("\n") + "\n");
