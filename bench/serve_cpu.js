// Server CPU time per generated token of `kinglet serve` at given stream counts (not a CI test). CPU
// time (user + system of the server process, from /proc/PID/stat) depends much less than tokens/s on
// what else a shared machine runs, so it is what to compare before/after a change to the serve path.
// Usage: node bench/serve_cpu.js KINGLET MODEL.gguf [--streams 1,8] [--requests-per-stream 4]
//          [--max-tokens 64] [--parallel 16] [--threads N] [--pause-ms 0]
// --pause-ms N: after warm-up, wait N ms before measuring (time to attach `perf record -p PID`).
"use strict";
const fs = require("fs");
const path = require("path");
const { startServer, sleep } = require("../tests/e2e/serve/harness");

const argv = process.argv.slice(2);
const opt = (name, def) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : def;
};
const kinglet = argv[0];
const model = path.resolve(argv[1]);
const streams = opt("--streams", "1,8").split(",").map(Number);
const perStream = Number(opt("--requests-per-stream", "4"));
const maxTokens = Number(opt("--max-tokens", "64"));
const parallel = Number(opt("--parallel", "16"));
const threads = opt("--threads", "");
const pauseMs = Number(opt("--pause-ms", "0"));

const prompts = [
  "Write a short story about a robot who learns to paint.",
  "Explain how a bicycle stays upright while moving.",
  "List five ideas for a rainy afternoon with children.",
  "Describe the water cycle to a ten-year-old.",
];

const clkTck = 100;  // USER_HZ on Linux
function cpuMs(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const rest = f.slice(f.lastIndexOf(")") + 2).split(" ");
  return ((Number(rest[11]) + Number(rest[12])) * 1000) / clkTck;  // utime + stime
}

async function streamOnce(url, i) {
  const r = await fetch(url + "/v1/chat/completions", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      model: "m", stream: true, stream_options: { include_usage: true }, max_tokens: maxTokens, temperature: 0.7,
      seed: i, messages: [{ role: "user", content: prompts[i % prompts.length] }],
    }),
  });
  if (r.status !== 200) throw new Error(`status ${r.status}: ${await r.text()}`);
  let buf = "", usage = null;
  const decoder = new TextDecoder();
  for await (const chunk of r.body) {
    buf += decoder.decode(chunk, { stream: true });
    let k;
    while ((k = buf.indexOf("\n\n")) >= 0) {
      const ev = buf.slice(0, k);
      buf = buf.slice(k + 2);
      if (!ev.startsWith("data: ") || ev === "data: [DONE]") continue;
      const j = JSON.parse(ev.slice(6));
      if (j.usage) usage = j.usage;
    }
  }
  if (!usage) throw new Error("no usage");
  return usage.completion_tokens;
}

async function load(url, clients, requests) {
  let next = 0, tokens = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: clients }, async () => {
    for (;;) {
      const i = next++;
      if (i >= requests) return;
      const n = await streamOnce(url, i);  // (not `tokens += await ...`: that reads tokens before waiting)
      tokens += n;
    }
  }));
  return { tokens, wall: (performance.now() - t0) / 1000 };
}

async function main() {
  const args = ["-m", `m=${model}`, "--parallel", String(parallel)];
  if (threads) args.push("-t", threads);
  const server = await startServer(kinglet, args, { readyTimeoutMs: 300000 });
  const pid = server.proc.pid;
  await load(server.url, 4, 8);  // warm-up
  if (pauseMs) {
    console.error(`server pid ${pid}; measuring in ${pauseMs} ms`);
    await sleep(pauseMs);
  }
  for (const c of streams) {
    const c0 = cpuMs(pid);
    const r = await load(server.url, c, perStream * c);
    const cpu = cpuMs(pid) - c0;
    console.log(`${c} streams: ${r.tokens} tokens, server CPU ${(cpu / r.tokens).toFixed(3)} ms/token, ` +
      `${(r.tokens / r.wall).toFixed(1)} tokens/s wall`);
  }
  await server.stop("SIGTERM");
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
