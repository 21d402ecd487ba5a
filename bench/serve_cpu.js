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
const { load, option } = require("./serve_client");

const argv = process.argv.slice(2);
const opt = (name, def) => option(argv, name, def);
const kinglet = argv[0];
const model = path.resolve(argv[1]);
const streams = opt("--streams", "1,8").split(",").map(Number);
const perStream = Number(opt("--requests-per-stream", "4"));
const maxTokens = Number(opt("--max-tokens", "64"));
const parallel = Number(opt("--parallel", "16"));
const threads = opt("--threads", "");
const pauseMs = Number(opt("--pause-ms", "0"));

const clkTck = 100;  // USER_HZ on Linux
function cpuMs(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const rest = f.slice(f.lastIndexOf(")") + 2).split(" ");
  return ((Number(rest[11]) + Number(rest[12])) * 1000) / clkTck;  // utime + stime
}

async function main() {
  const args = ["-m", `m=${model}`, "--parallel", String(parallel)];
  if (threads) args.push("-t", threads);
  const server = await startServer(kinglet, args, { readyTimeoutMs: 300000 });
  const pid = server.proc.pid;
  await load(server.url, 4, 8, maxTokens);  // warm-up
  if (pauseMs) {
    console.error(`server pid ${pid}; measuring in ${pauseMs} ms`);
    await sleep(pauseMs);
  }
  for (const c of streams) {
    const c0 = cpuMs(pid);
    const r = await load(server.url, c, perStream * c, maxTokens);
    const cpu = cpuMs(pid) - c0;
    if (r.failed) throw new Error(`${r.failed} requests failed: ${r.errors.join("; ")}`);
    console.log(`${c} streams: ${r.tokens} tokens, server CPU ${(cpu / r.tokens).toFixed(3)} ms/token, ` +
      `${(r.tokens / r.wall).toFixed(1)} tokens/s wall`);
  }
  await server.stop("SIGTERM");
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
