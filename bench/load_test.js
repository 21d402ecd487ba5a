// Bounded load test of `kinglet serve` (not a CI test): streaming clients against one model on a
// loopback port, for a fixed number of requests.
//  1. Throughput: 1, 4, 8 and 16 concurrent streams, each client sending four requests back to back;
//     aggregate generated tokens/s (from the usage of each response) and client-side time to first
//     token (p50/p95).
//  2. Soak: 64 concurrent streaming clients, a fixed request count, twice. Every response must end
//     with a finish_reason, usage and [DONE] (zero failed or truncated), and the server's resident
//     memory after the second round must be within a small margin of the first (memory flat).
// Usage: node bench/load_test.js KINGLET MODEL.gguf [--parallel 16] [--max-tokens 64] [--out docs/benchmarks.md]
"use strict";
const fs = require("fs");
const path = require("path");
const { startServer } = require("../tests/e2e/serve/harness");

const argv = process.argv.slice(2);
const opt = (name, def) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : def;
};
const kinglet = argv[0];
const model = path.resolve(argv[1]);  // the server runs in a temporary folder (tests/e2e/serve/harness.js)
const parallel = Number(opt("--parallel", "16"));
const maxTokens = Number(opt("--max-tokens", "64"));
const soakRequests = Number(opt("--soak-requests", "128"));
const out = opt("--out", "");
const threads = opt("--threads", "");

const prompts = [
  "Write a short story about a robot who learns to paint.",
  "Explain how a bicycle stays upright while moving.",
  "List five ideas for a rainy afternoon with children.",
  "Describe the water cycle to a ten-year-old.",
  "What makes a good cup of coffee? Give practical tips.",
  "Summarise the plot of a mystery novel you invent.",
  "How do plants know which way is up?",
  "Give advice to someone starting to learn the piano.",
];

function pct(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN;
}

// One streaming chat request; resolves with {ok, tokens, ttft_ms, total_ms, error}.
async function streamOnce(url, i) {
  const t0 = performance.now();
  let ttft = null, finish = null, usage = null, done = false, buf = "";
  try {
    const r = await fetch(url + "/v1/chat/completions", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        model: "m", stream: true, stream_options: { include_usage: true }, max_tokens: maxTokens, temperature: 0.7,
        seed: i, messages: [{ role: "user", content: prompts[i % prompts.length] }],
      }),
    });
    if (r.status !== 200) return { ok: false, error: `status ${r.status}: ${await r.text()}` };
    const decoder = new TextDecoder();
    for await (const chunk of r.body) {
      buf += decoder.decode(chunk, { stream: true });
      let k;
      while ((k = buf.indexOf("\n\n")) >= 0) {
        const ev = buf.slice(0, k);
        buf = buf.slice(k + 2);
        if (!ev.startsWith("data: ")) continue;
        const data = ev.slice(6);
        if (data === "[DONE]") { done = true; continue; }
        const j = JSON.parse(data);
        if (j.error) return { ok: false, error: JSON.stringify(j.error) };
        if (j.usage) usage = j.usage;
        const c = j.choices && j.choices[0];
        if (c && c.delta && c.delta.content && ttft === null) ttft = performance.now() - t0;
        if (c && c.finish_reason) finish = c.finish_reason;
      }
    }
  } catch (e) {
    return { ok: false, error: String(e) };
  }
  const total = performance.now() - t0;
  if (!done || !finish || !usage) return { ok: false, error: `truncated (done ${done}, finish ${finish}, usage ${!!usage})` };
  if (finish === "length" && usage.completion_tokens !== maxTokens) return { ok: false, error: `length with ${usage.completion_tokens} tokens` };
  return { ok: true, tokens: usage.completion_tokens, ttft_ms: ttft ?? total, total_ms: total };
}

// `clients` workers share `requests` requests.
async function load(url, clients, requests) {
  let next = 0;
  const results = [];
  const t0 = performance.now();
  await Promise.all(Array.from({ length: clients }, async () => {
    for (;;) {
      const i = next++;
      if (i >= requests) return;
      results.push(await streamOnce(url, i));
    }
  }));
  const wall = (performance.now() - t0) / 1000;
  const ok = results.filter((r) => r.ok);
  return {
    clients, requests, wall,
    failed: results.length - ok.length,
    errors: [...new Set(results.filter((r) => !r.ok).map((r) => r.error))].slice(0, 3),
    tokens: ok.reduce((s, r) => s + r.tokens, 0),
    tps: ok.reduce((s, r) => s + r.tokens, 0) / wall,
    ttft50: pct(ok.map((r) => r.ttft_ms), 50),
    ttft95: pct(ok.map((r) => r.ttft_ms), 95),
  };
}

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
  await load(server.url, 4, 8);  // warm-up
  const rows = [];
  for (const c of [1, 4, 8, 16]) {
    const r = await load(server.url, c, 4 * c);  // four requests per client at every level
    rows.push(r);
    console.error(`${c} streams: ${r.tps.toFixed(1)} tok/s, TTFT p50 ${r.ttft50.toFixed(0)} ms p95 ${r.ttft95.toFixed(0)} ms, failed ${r.failed}`);
  }
  const rss0 = rssMb(pid);
  const soak1 = await load(server.url, 64, soakRequests);
  const rss1 = rssMb(pid);
  const soak2 = await load(server.url, 64, soakRequests);
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
    ...rows.map((r) => `| ${r.clients} | ${r.requests} | ${r.tps.toFixed(1)} | ${r.ttft50.toFixed(0)} | ${r.ttft95.toFixed(0)} | ${r.failed} |`),
    "",
    `8 streams give ${(eight / one).toFixed(2)}x the tokens/s of one stream (goal: at least 3x).`,
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
