// See tests/e2e/route_cascade.sh. The small model is stories260K Q8_0 (labels girl/boy/dog/cat/ball
// after "Once upon a time there was a little"), the "large" one stories260K F32 behind a second
// kinglet; the escalated answer must equal what that server says when asked directly (greedy).
"use strict";
const assert = require("assert/strict");
const fs = require("fs");
const http = require("http");
const path = require("path");
const { execFileSync } = require("child_process");
const { startServer, metric, sleep, tempFile, post } = require("../serve/harness.js");

const KINGLET = process.env.KINGLET;
const MODELS = path.join(process.env.KINGLET_SHARED_DIR, "models", "stories260K");
const LABELS = ["girl", "boy", "dog", "cat", "ball"];
const PROMPT = "Once upon a time there was a little";

// A stand-in remote that fails on purpose: /fail/v1 answers 500, /slow/v1 answers after 3 s.
function startStub() {
  const calls = { fail: 0, slow: 0 };
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      if (req.url.startsWith("/fail/")) {
        calls.fail++;
        res.writeHead(500, { "Content-Type": "application/json" });
        res.end(JSON.stringify({ error: { message: "stub failure" } }));
      } else {
        calls.slow++;
        setTimeout(() => {
          res.writeHead(500);
          res.end();
        }, 3000);
      }
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ server, calls, port: server.address().port })));
}

// A port with nothing listening: bind, read the port, close.
function closedPort() {
  return new Promise((resolve) => {
    const s = http.createServer();
    s.listen(0, "127.0.0.1", () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

function frontConfig({ largeUrl, stubPort, refusedPort, ledger }) {
  const labels = `[${LABELS.join(", ")}]`;
  return `
server: { request_timeout_s: 60 }
models:
  small: { path: ${MODELS}/model-q8_0.gguf, parallel: 2, threads: 1, price_per_hour_usd: 0.5 }
providers:
  large: { base_url: "${largeUrl}/v1", model: big, price: { input_per_mtok: 2.0, output_per_mtok: 8.0 }, timeout_s: 30 }
  broken: { base_url: "http://127.0.0.1:${stubPort}/fail/v1", max_retries: 2, retry_backoff_s: 0.01, price: { input_per_mtok: 1, output_per_mtok: 1 } }
  slow: { base_url: "http://127.0.0.1:${stubPort}/slow/v1", timeout_s: 0.5, max_retries: 0 }
  refused: { base_url: "http://127.0.0.1:${refusedPort}/v1", max_retries: 1, retry_backoff_s: 0.01 }
routes:
  stay:
    policy: cascade
    labels: ${labels}
    steps:
      - { target: small, signal: label_prob, min_confidence: 0.0 }
      - { target: large }
  up:
    policy: cascade
    labels: ${labels}
    steps:
      - { target: small, signal: label_prob, min_confidence: 0.999999 }
      - { target: large }
  up_free:
    policy: cascade
    steps:
      - { target: small, signal: mean_logprob, min_confidence: -0.000001 }
      - { target: [broken, large] }
  fb_500: { policy: fallback, targets: [broken, large] }
  fb_timeout: { policy: fallback, targets: [slow, large] }
  fb_refused: { policy: fallback, targets: [refused, large] }
  by_tier: { policy: tier, tiers: { paid: large, default: small } }
  support:
    policy: domain
    default: small
    domains:
      billing: { target: large, keywords: [invoice, refund] }
      legal: { target: [broken, large], patterns: ["gdpr|privacy polic(y|ies)"] }
tenants:
  rich: { key: sk-rich, tier: paid }
  poor: { key: sk-poor, monthly_remote_usd: 0.000001, on_budget_exceeded: serve_local }
  strict: { key: sk-strict, monthly_remote_usd: 0.000001, on_budget_exceeded: reject }
${ledger ? `ledger: { url: "sqlite://${ledger}" }` : ""}
`;
}

async function main() {
  const large = await startServer(KINGLET, ["-m", `big=${MODELS}/model-f32.gguf`, "--parallel", "2", "-t", "1"]);
  const stub = await startStub();
  const refusedPort = await closedPort();
  const dir = path.dirname(tempFile("x", ""));
  const ledgerPath = path.join(dir, "ledger.db");
  const front = await startServer(KINGLET, ["-c", tempFile("front.yaml", frontConfig({ largeUrl: large.url, stubPort: stub.port, refusedPort, ledger: ledgerPath }))]);
  const served = [];  // {id, provider, escalated, cost} of every answered request, to compare with the ledger
  const auth = (key) => ({ Authorization: `Bearer ${key}` });
  let sent = 0;  // requests sent to the front server (each must leave one ledger row)
  const complete = async (model, extra = {}, key = "sk-rich") => {
    sent++;
    const r = await post(front.url + "/v1/completions", { model, prompt: PROMPT, max_tokens: 6, temperature: 0, ...extra }, auth(key));
    if (r.status === 200)
      served.push({ id: r.body.id, provider: r.headers.get("x-kinglet-provider"), escalated: r.headers.get("x-kinglet-escalated") === "true",
                    cost: Number(r.headers.get("x-kinglet-cost-usd")), status: 200 });
    return r;
  };
  try {
    // The large model asked directly: the reference for escalated answers.
    const direct = await post(large.url + "/v1/completions", { model: "big", prompt: PROMPT, max_tokens: 6, temperature: 0 });
    assert.equal(direct.status, 200);

    // A confident answer stays local, and is one of the labels.
    let r = await complete("stay");
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get("x-kinglet-route"), "stay");
    assert.equal(r.headers.get("x-kinglet-provider"), "small");
    assert.equal(r.headers.get("x-kinglet-escalated"), "false");
    const conf = Number(r.headers.get("x-kinglet-confidence"));
    assert.ok(conf > 0 && conf <= 1, `confidence ${conf}`);
    assert.ok(LABELS.includes(r.body.choices[0].text), r.body.choices[0].text);
    assert.ok(Number(r.headers.get("x-kinglet-cost-usd")) > 0);

    // Labels constrain sampled answers too.
    for (let i = 0; i < 6; i++) {
      r = await complete("stay", { temperature: 1.5, seed: i });
      assert.ok(LABELS.includes(r.body.choices[0].text), `sampled '${r.body.choices[0].text}'`);
    }

    // Under the threshold: escalated, and the answer is the large model's own.
    r = await complete("up");
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get("x-kinglet-provider"), "large");
    assert.equal(r.headers.get("x-kinglet-escalated"), "true");
    assert.equal(r.body.choices[0].text, direct.body.choices[0].text);
    assert.equal(r.body.usage.completion_tokens, direct.body.usage.completion_tokens);

    // Streaming through a cascade: one answer, headers before the first byte.
    const sres = await fetch(front.url + "/v1/chat/completions", {
      method: "POST",
      headers: { "Content-Type": "application/json", ...auth("sk-rich") },
      body: JSON.stringify({ model: "up", messages: [{ role: "user", content: PROMPT }], max_tokens: 6, temperature: 0,
                             stream: true, stream_options: { include_usage: true } }),
    });
    sent++;
    assert.equal(sres.status, 200);
    assert.equal(sres.headers.get("x-kinglet-provider"), "large");
    assert.equal(sres.headers.get("x-kinglet-escalated"), "true");
    let text = "", last;
    for (const line of (await sres.text()).split("\n")) {
      if (!line.startsWith("data: ") || line === "data: [DONE]") continue;
      const chunk = JSON.parse(line.slice(6));
      if (chunk.choices.length) text += chunk.choices[0].delta.content ?? "";
      last = chunk;
    }
    const directChat = await post(large.url + "/v1/chat/completions", { model: "big", messages: [{ role: "user", content: PROMPT }], max_tokens: 6, temperature: 0 });
    assert.equal(text, directChat.body.choices[0].message.content);
    assert.equal(last.kinglet.provider, "large");
    served.push({ id: last.id, provider: "large", escalated: true, cost: last.kinglet.cost_usd, status: 200 });

    // Free-text cascade whose second step is a fallback list: broken (500, retried) then large.
    const before = stub.calls.fail;
    r = await complete("up_free");
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get("x-kinglet-provider"), "large");
    assert.equal(stub.calls.fail - before, 3);  // one call and max_retries: 2

    // Fallbacks on a remote 500, a time-out and a refused connection.
    for (const route of ["fb_500", "fb_timeout", "fb_refused"]) {
      r = await complete(route);
      assert.equal(r.status, 200, `${route}: ${r.text}`);
      assert.equal(r.headers.get("x-kinglet-provider"), "large", route);
      assert.equal(r.body.choices[0].text, direct.body.choices[0].text, route);
    }
    assert.equal(stub.calls.slow, 1);  // time-outs retried 0 times as configured
    const m = await (await fetch(front.url + "/metrics", { headers: auth("sk-rich") })).text();
    if (process.env.DEBUG) console.log(m.split("\n").filter((l) => l.includes("attempts")).join("\n"));
    assert.ok(metric(m, "kinglet_provider_attempts_total", 'provider="broken",outcome="error"') >= 2);
    assert.equal(metric(m, "kinglet_provider_attempts_total", 'provider="slow",outcome="timeout"'), 1);
    assert.equal(metric(m, "kinglet_provider_attempts_total", 'provider="refused",outcome="error"'), 1);
    assert.ok(metric(m, "kinglet_route_escalations_total", 'route="up"') >= 2);
    assert.ok(metric(m, "kinglet_spend_usd_total", 'provider="large"') > 0);

    // Budgets: the first escalation fits (spend 0 < limit), then the tenant is over its limit.
    r = await complete("up", {}, "sk-poor");
    assert.equal(r.headers.get("x-kinglet-provider"), "large");
    r = await complete("up", {}, "sk-poor");
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("x-kinglet-provider"), "small");
    assert.equal(r.headers.get("x-kinglet-budget-limited"), "true");
    assert.ok(LABELS.includes(r.body.choices[0].text));
    r = await complete("up", {}, "sk-strict");
    assert.equal(r.headers.get("x-kinglet-provider"), "large");
    r = await complete("up", {}, "sk-strict");
    assert.equal(r.status, 429, r.text);
    assert.equal(r.body.error.code, "budget_exceeded");
    // A request that stays local is not affected by the budget.
    r = await complete("stay", {}, "sk-strict");
    assert.equal(r.status, 200);

    // Tier routes pick by the caller's tenant: paid -> large, anyone else -> the default tier.
    r = await complete("by_tier", {}, "sk-rich");
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get("x-kinglet-provider"), "large");
    assert.equal(r.headers.get("x-kinglet-route"), "by_tier");
    r = await complete("by_tier", {}, "sk-poor");
    assert.equal(r.headers.get("x-kinglet-provider"), "small");
    // Domain routes pick by content: whole-word keywords, regexes (here to a fallback list), else the default.
    for (const [prompt, provider] of [["Where is my invoice for May?", "large"], ["Please refund me", "large"],
                                      ["Your privacy policy, please", "large"], ["Invoices galore", "small"],
                                      [PROMPT, "small"]]) {
      r = await complete("support", { prompt }, "sk-rich");
      assert.equal(r.status, 200, r.text);
      assert.equal(r.headers.get("x-kinglet-provider"), provider, prompt);
    }

    await checkLedger(ledgerPath, served, sent, front, complete);
  } finally {
    await front.stop();
    await large.stop();
    stub.server.close();
  }
  console.log("route_cascade: ok");
}

function sqlite(file, sql) {
  return execFileSync("sqlite3", ["-json", file, sql], { encoding: "utf8" }).trim();
}

async function checkLedger(file, served, sent, front, complete) {
  // One row per request, each with the provider, escalation and cost the client was told.
  const rows = JSON.parse(sqlite(file, "SELECT id, provider, escalated, cost_usd, status, route FROM requests") || "[]");
  assert.equal(rows.length, sent, "one ledger row per request");
  const byId = new Map(rows.map((r) => [r.id, r]));
  for (const s of served) {
    const row = byId.get(s.id);
    assert.ok(row, `no ledger row for ${s.id}`);
    assert.equal(row.provider, s.provider, s.id);
    assert.equal(row.escalated, s.escalated ? 1 : 0, s.id);
    assert.equal(row.status, 200, s.id);
    assert.ok(Math.abs(row.cost_usd - s.cost) <= 1e-9, `${s.id}: ledger ${row.cost_usd} vs told ${s.cost}`);
  }
  assert.equal(rows.filter((r) => r.status === 429).length, 1);
  // Every attempt is listed, in order: the cascade whose second step is a fallback list (max_tokens 6:
  // the small answer hit the length limit, which escalates; the large one is served as it is).
  const att = JSON.parse(sqlite(file, "SELECT a.provider, a.outcome FROM attempts a JOIN requests r ON a.request_seq = r.seq " +
                                      "WHERE r.route = 'up_free' ORDER BY a.idx"));
  assert.deepEqual(att.map((a) => `${a.provider}:${a.outcome}`), ["small:length", "broken:error", "large:length"]);

  // SIGKILL right after the response: the row is there.
  const r = await complete("up");
  assert.equal(r.status, 200);
  front.proc.kill("SIGKILL");
  await new Promise((res) => front.proc.once("exit", res));
  const found = JSON.parse(sqlite(file, `SELECT provider FROM requests WHERE id = '${r.body.id}'`) || "[]");
  assert.deepEqual(found, [{ provider: "large" }], "the answered request survived SIGKILL");
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
