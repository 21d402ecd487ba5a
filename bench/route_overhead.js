// See route_overhead.sh. Prints p50/p90/p99/max latency of direct and routed requests and their
// difference, at the given rate (open loop: requests start on schedule whatever the answers do).
"use strict";
const http = require("http");
const fs = require("fs");
const os = require("os");
const path = require("path");
const { startServer } = require("../tests/e2e/serve/harness.js");

const rate = Number(process.argv[2] || 200);
const seconds = Number(process.argv[3] || 10);
const ledger = process.argv[4] || "none";

function stub() {
  const chunk = (o) => `data: ${JSON.stringify(o)}\n\n`;
  const server = http.createServer({ keepAlive: true }, (req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "Content-Type": "text/event-stream" });
      const base = { id: "x", object: "chat.completion.chunk", created: 0, model: "stub" };
      res.end(
        chunk({ ...base, choices: [{ index: 0, delta: { content: "billing" }, finish_reason: null,
                                     logprobs: { content: [{ token: "billing", logprob: -0.01, bytes: [], top_logprobs: [] }] } }] }) +
        chunk({ ...base, choices: [{ index: 0, delta: {}, finish_reason: "stop" }] }) +
        chunk({ ...base, choices: [], usage: { prompt_tokens: 20, completion_tokens: 1 } }) + "data: [DONE]\n\n");
    });
  });
  return new Promise((r) => server.listen(0, "127.0.0.1", () => r({ server, port: server.address().port })));
}

// user + system CPU seconds of a process so far (/proc/PID/stat, in clock ticks of 1/100 s).
function cpuSeconds(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = f.slice(f.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function pct(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

async function load(url, body, headers) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const n = Math.round(rate * seconds);
  const lat = [];
  let errors = 0;
  const t0 = performance.now();
  const jobs = [];
  for (let i = 0; i < n; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    jobs.push(new Promise((resolve) => {
      const start = performance.now();
      const req = http.request(url, { method: "POST", agent, headers: { "Content-Type": "application/json", ...headers } }, (res) => {
        res.resume();
        res.on("end", () => {
          if (res.statusCode !== 200) errors++;
          lat.push(performance.now() - start);
          resolve();
        });
      });
      req.on("error", () => {
        errors++;
        resolve();
      });
      req.end(body);
    }));
  }
  await Promise.all(jobs);
  agent.destroy();
  return { lat, errors, achieved: n / ((performance.now() - t0) / 1000) };
}

async function main() {
  const s = await stub();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kinglet-bench-"));
  const cfg = path.join(dir, "route.yaml");
  fs.writeFileSync(cfg, `
server: { http_threads: 128 }
providers:
  a: { base_url: "http://127.0.0.1:${s.port}/v1", price: { input_per_mtok: 0.1, output_per_mtok: 0.4 } }
  b: { base_url: "http://127.0.0.1:${s.port}/v1", price: { input_per_mtok: 2, output_per_mtok: 8 } }
routes:
  bench:
    policy: cascade
    steps:
      - { target: a, signal: mean_logprob, min_confidence: -0.5 }
      - { target: b }
${ledger === "sqlite" ? `ledger: { url: "sqlite://${path.join(dir, "ledger.db")}" }` : "ledger: off"}
`);
  const front = await startServer(process.env.KINGLET, ["-c", cfg]);
  const body = JSON.stringify({ model: "bench", messages: [{ role: "system", content: "Classify the ticket." }, { role: "user", content: "I was charged twice for my subscription this month." }], max_tokens: 4 });
  try {
    await load(front.url + "/v1/chat/completions", body, {});  // warm-up, discarded
    const direct = await load(`http://127.0.0.1:${s.port}/v1/chat/completions`, body, {});
    const cpu0 = cpuSeconds(front.proc.pid);
    const routed = await load(front.url + "/v1/chat/completions", body, {});
    const cpu = cpuSeconds(front.proc.pid) - cpu0;
    const row = (name, r) =>
      console.log(`${name.padEnd(8)} n=${r.lat.length} errors=${r.errors} rate=${r.achieved.toFixed(0)}/s ` +
                  ["p50", "p90", "p99", "max"].map((p) => `${p}=${(p === "max" ? Math.max(...r.lat) : pct(r.lat, Number(p.slice(1)))).toFixed(3)}ms`).join(" "));
    console.log(`rate ${rate}/s for ${seconds}s, ledger: ${ledger}, ${os.cpus().length} CPUs`);
    row("direct", direct);
    row("routed", routed);
    for (const p of [50, 99]) console.log(`overhead p${p}: ${(pct(routed.lat, p) - pct(direct.lat, p)).toFixed(3)} ms`);
    // CPU time, unlike latency, does not depend on what else the machine is running.
    console.log(`kinglet CPU per routed request: ${((cpu / routed.lat.length) * 1e6).toFixed(0)} us (user+system)`);
  } finally {
    await front.stop();
    s.server.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
