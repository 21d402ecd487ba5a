// Bounded load test of `kinglet serve` (not a CI test): streaming clients against one model on a
// loopback port, for a fixed number of requests.
//  1. Throughput: 1, 4, 8 and 16 concurrent streams, each client sending four requests back to back;
//     aggregate generated tokens/s (from the usage of each response) and client-side time to first
//     token (p50/p95).
//     Then the 8-to-1 ratio again over several alternating rounds (one stream, eight streams, one, ...):
//     a shared machine's speed drifts within minutes, so one pair of runs seconds apart can land on
//     either side of the goal; the median of the rounds' ratios is what the goal is judged on.
//  2. Soak: 64 concurrent streaming clients, a fixed request count, twice. Every response must end
//     with a finish_reason, usage and [DONE] (zero failed or truncated), and the server's resident
//     memory after the second round must be within a small margin of the first (memory flat).
// Usage: node bench/load_test.js KINGLET MODEL.gguf [--parallel 16] [--max-tokens 64] [--ratio-rounds 5]
//          [--out docs/benchmarks.md]
"use strict";
const fs = require("fs");
const path = require("path");
const { startServer } = require("../tests/e2e/serve/harness");
const { load, option } = require("./serve_client");

const argv = process.argv.slice(2);
const opt = (name, def) => option(argv, name, def);
const kinglet = argv[0];
const model = path.resolve(argv[1]);  // the server runs in a temporary folder (tests/e2e/serve/harness.js)
const parallel = Number(opt("--parallel", "16"));
const maxTokens = Number(opt("--max-tokens", "64"));
const soakRequests = Number(opt("--soak-requests", "128"));
const ratioRounds = Number(opt("--ratio-rounds", "5"));
const out = opt("--out", "");
const threads = opt("--threads", "");

function rssMb(pid) {
  const m = fs.readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+) kB/);
  return Number(m[1]) / 1024;
}

async function main() {
  const args = ["-m", `m=${model}`, "--parallel", String(parallel)];
  if (threads) args.push("-t", threads);
  const server = await startServer(kinglet, args, { readyTimeoutMs: 300000 });
  const pid = server.proc.pid;
  console.error(`server ${server.url} (pid ${pid}), parallel ${parallel}, max_tokens ${maxTokens}`);
  await load(server.url, 4, 8, maxTokens);  // warm-up
  const rows = [];
  for (const c of [1, 4, 8, 16]) {
    const r = await load(server.url, c, 4 * c, maxTokens);  // four requests per client at every level
    rows.push(r);
    console.error(`${c} streams: ${r.tps.toFixed(1)} tok/s, TTFT p50 ${r.ttft50.toFixed(0)} ms p95 ${r.ttft95.toFixed(0)} ms, failed ${r.failed}`);
  }
  const ratios = [];
  for (let i = 0; i < ratioRounds; ++i) {
    const a = await load(server.url, 1, 4, maxTokens), b = await load(server.url, 8, 32, maxTokens);
    rows.push(a, b);  // their failures count too
    ratios.push(b.tps / a.tps);
    console.error(`round ${i + 1}: 1 stream ${a.tps.toFixed(1)}, 8 streams ${b.tps.toFixed(1)} tok/s: ${(b.tps / a.tps).toFixed(2)}x`);
  }
  const sorted = [...ratios].sort((x, y) => x - y), mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  const rss0 = rssMb(pid);
  const soak1 = await load(server.url, 64, soakRequests, maxTokens);
  const rss1 = rssMb(pid);
  const soak2 = await load(server.url, 64, soakRequests, maxTokens);
  const rss2 = rssMb(pid);
  console.error(`soak: ${soak1.failed + soak2.failed} failed of ${2 * soakRequests}; RSS ${rss0.toFixed(0)} -> ${rss1.toFixed(0)} -> ${rss2.toFixed(0)} MB`);
  const stop = await server.stop("SIGTERM");

  const one = rows[0].tps, eight = rows[2].tps;
  const failed = rows.reduce((s, r) => s + r.failed, 0) + soak1.failed + soak2.failed;
  const flat = rss2 - rss1 <= Math.max(16, 0.05 * rss1);
  const lines = [
    "<!-- serve-load:begin (written by bench/load_test.js) -->",
    "## kinglet serve under load",
    "",
    `\`bench/load_test.sh\`: ${path.basename(model)}, \`--parallel ${parallel}\`, streaming chat requests of ${maxTokens} tokens, four per client ` +
      `(temperature 0.7), clients on the same machine (${require("os").cpus().length} CPUs). Tokens/s is every stream's ` +
      "generated tokens (from each response's usage) over wall time; TTFT is measured by the client (queue wait included).",
    "",
    "| concurrent streams | requests | aggregate tokens/s | TTFT p50 (ms) | TTFT p95 (ms) | failed |",
    "|---:|---:|---:|---:|---:|---:|",
    ...rows.slice(0, 4).map((r) => `| ${r.clients} | ${r.requests} | ${r.tps.toFixed(1)} | ${r.ttft50.toFixed(0)} | ${r.ttft95.toFixed(0)} | ${r.failed} |`),
    "",
    `8 streams give ${(eight / one).toFixed(2)}x the tokens/s of one stream in the table's run. ` +
      (ratios.length
        ? `Over ${ratios.length} alternating rounds after it (one stream, 4 requests; eight streams, 32 requests): ` +
          `${ratios.map((r) => r.toFixed(2)).join(", ")}; median **${median.toFixed(2)}x** (goal: at least 3x).`
        : "(goal: at least 3x)"),
    "",
    `Soak: 64 concurrent streaming clients, ${soakRequests} requests, twice: ${soak1.failed + soak2.failed} failed or truncated ` +
      `of ${2 * soakRequests}; ${(soak1.tps).toFixed(1)} and ${(soak2.tps).toFixed(1)} tokens/s; server RSS ${rss0.toFixed(0)} MB before, ` +
      `${rss1.toFixed(0)} MB after the first round, ${rss2.toFixed(0)} MB after the second (${flat ? "flat" : "GROWING"}). ` +
      `Shutdown (SIGTERM) exit status ${stop.code}.`,
    "<!-- serve-load:end -->",
  ];
  const section = lines.join("\n");
  console.log(section);
  if (out) {
    let doc = fs.existsSync(out) ? fs.readFileSync(out, "utf8") : "# Benchmarks\n";
    const re = /<!-- serve-load:begin[\s\S]*?<!-- serve-load:end -->/;
    doc = re.test(doc) ? doc.replace(re, section) : doc.trimEnd() + "\n\n" + section + "\n";
    fs.writeFileSync(out, doc);
  }
  if (failed || !flat || stop.code !== 0) {
    console.error(`load test FAILED: ${failed} failed, memory ${flat ? "flat" : "growing"}, exit ${stop.code}`);
    for (const r of [...rows, soak1, soak2]) if (r.errors.length) console.error(r.errors);
    process.exit(1);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
