// Starts `kinglet serve` on a free loopback port (--port 0; the bound port is read from its first
// stdout line) and waits for /health to say 200. Used by tests/e2e/serve_*.sh and bench/load_test.js.
"use strict";
const { spawn, execFileSync } = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

// The server runs in `cwd` (default: a fresh temporary folder), where it keeps its default ledger
// (kinglet-ledger.db) when neither the config nor --ledger names one; paths in `args` must be absolute.
async function startServer(kinglet, args, { readyTimeoutMs = 60000, cwd } = {}) {
  cwd = cwd ?? fs.mkdtempSync(path.join(os.tmpdir(), "kinglet-serve-"));
  const bin = kinglet.includes("/") ? path.resolve(kinglet) : kinglet;
  const proc = spawn(bin, ["serve", "--port", "0", ...args], { stdio: ["ignore", "pipe", "pipe"], cwd });
  let stdout = "", stderr = "";
  proc.stdout.on("data", (d) => (stdout += d));
  proc.stderr.on("data", (d) => (stderr += d));
  const exited = new Promise((resolve) => proc.on("exit", (code, signal) => resolve({ code, signal })));
  const deadline = Date.now() + readyTimeoutMs;
  let url = null;
  while (!url) {
    const m = stdout.match(/listening on (http:\/\/[^\s]+)/);
    if (m) url = m[1];
    else if (proc.exitCode !== null) throw new Error(`kinglet serve exited ${proc.exitCode}: ${stderr}`);
    else if (Date.now() > deadline) throw new Error(`kinglet serve did not start: ${stderr}`);
    else await sleep(10);
  }
  for (;;) {
    try {
      const r = await fetch(url + "/health");
      if (r.status === 200) break;
    } catch (e) {
      /* not yet */
    }
    if (proc.exitCode !== null) throw new Error(`kinglet serve exited ${proc.exitCode}: ${stderr}`);
    if (Date.now() > deadline) throw new Error(`kinglet serve not ready: ${stderr}`);
    await sleep(20);
  }
  return {
    url,
    proc,
    cwd,
    stderr: () => stderr,
    // Sends `signal` and resolves with the exit code (or the signal that killed it).
    async stop(signal = "SIGTERM", timeoutMs = 60000) {
      if (proc.exitCode !== null) return { code: proc.exitCode, signal: null };
      proc.kill(signal);
      const t = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
      const r = await exited;
      clearTimeout(t);
      return r;
    },
  };
}

// A Prometheus sample's value, or undefined.
function metric(text, name, labels = "") {
  const line = text.split("\n").find((l) => l.startsWith(labels ? `${name}{${labels}} ` : `${name} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
}

function tempFile(name, content) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kinglet-e2e-"));
  const file = path.join(dir, name);
  fs.writeFileSync(file, content);
  return file;
}

// POST JSON with fetch; returns {status, headers, body (parsed when JSON), text}. Each call uses its
// own connection: a test that blocks its event loop for seconds (tokenizing, spawning) would
// otherwise reuse a keep-alive socket the server has closed as idle meanwhile ("other side closed").
// Keep-alive itself is exercised by the openai client tests.
async function post(url, body, headers = {}) {
  const r = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", Connection: "close", ...headers },
    body: typeof body === "string" || body instanceof Uint8Array ? body : JSON.stringify(body),
  });
  const text = await r.text();
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    parsed = undefined;
  }
  return { status: r.status, headers: r.headers, body: parsed, text };
}

function curl(args) {
  return execFileSync("curl", ["-sS", ...args], { encoding: "utf8" });
}

module.exports = { startServer, metric, sleep, tempFile, post, curl };
