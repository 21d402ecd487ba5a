// See tests/e2e/route_postgres.sh. KINGLET_PG_URL is an empty PostgreSQL database. Two replicas of the
// front server (stories260K Q8_0 as the small model) share it as their ledger; a third kinglet serves
// stories260K F32 as the remote "large" model.
"use strict";
const assert = require("assert/strict");
const path = require("path");
const { execFileSync } = require("child_process");
const { startServer, tempFile, post } = require("../serve/harness.js");

const KINGLET = process.env.KINGLET;
const PG = process.env.KINGLET_PG_URL;
const MODELS = path.join(process.env.KINGLET_SHARED_DIR, "models", "stories260K");
const LABELS = ["girl", "boy", "dog", "cat", "ball"];
const PROMPT = "Once upon a time there was a little";

function config(largeUrl) {
  const labels = `[${LABELS.join(", ")}]`;
  return `
models:
  small: { path: ${MODELS}/model-q8_0.gguf, parallel: 2, threads: 1, price_per_hour_usd: 0.5 }
providers:
  large: { base_url: "${largeUrl}/v1", model: big, price: { input_per_mtok: 2.0, output_per_mtok: 8.0 }, timeout_s: 30 }
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
tenants:
  acme: { key: sk-acme, tier: paid }
  strict: { key: sk-strict, monthly_remote_usd: 0.000001, on_budget_exceeded: reject }
ledger: { url: "${PG}" }
`;
}

// Rows of a query as objects (psql's JSON, so numbers stay numbers).
function sql(query) {
  const out = execFileSync("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", PG, "-c",
                                    `SELECT COALESCE(json_agg(t), '[]') FROM (${query}) t`], { encoding: "utf8" });
  return JSON.parse(out);
}

const close = (a, b) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));

async function main() {
  const large = await startServer(KINGLET, ["-m", `big=${MODELS}/model-f32.gguf`, "--parallel", "2", "-t", "1", "--ledger", "off"]);
  const cfg = tempFile("front.yaml", config(large.url));
  // Both replicas open (create and migrate) the one ledger at the same time.
  const [a, b] = await Promise.all([startServer(KINGLET, ["-c", cfg]), startServer(KINGLET, ["-c", cfg])]);
  const served = [];  // what every client saw
  const ask = async (front, route, key, { chat = false, stream = false } = {}) => {
    const body = { model: route, max_tokens: 6, temperature: 0 };
    if (chat) body.messages = [{ role: "user", content: PROMPT }];
    else body.prompt = PROMPT;
    const headers = { Authorization: `Bearer ${key}` };
    const url = front.url + (chat ? "/v1/chat/completions" : "/v1/completions");
    let s;
    if (stream) {
      body.stream = true;
      body.stream_options = { include_usage: true };
      const res = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json", ...headers }, body: JSON.stringify(body) });
      assert.equal(res.status, 200);
      let last;
      for (const line of (await res.text()).split("\n"))
        if (line.startsWith("data: ") && line !== "data: [DONE]") last = JSON.parse(line.slice(6));
      s = { id: last.id, status: 200, provider: res.headers.get("x-kinglet-provider"), escalated: res.headers.get("x-kinglet-escalated") === "true",
            cost: last.kinglet.cost_usd, prompt_tokens: last.usage.prompt_tokens, completion_tokens: last.usage.completion_tokens };
    } else {
      const r = await post(url, body, headers);
      s = { status: r.status, provider: r.headers.get("x-kinglet-provider") ?? "", escalated: r.headers.get("x-kinglet-escalated") === "true",
            cost: Number(r.headers.get("x-kinglet-cost-usd") ?? NaN) };
      if (r.status === 200) Object.assign(s, { id: r.body.id, prompt_tokens: r.body.usage.prompt_tokens, completion_tokens: r.body.usage.completion_tokens });
    }
    Object.assign(s, { route, tenant: key === "sk-acme" ? "acme" : "strict", endpoint: chat ? "chat" : "completions" });
    served.push(s);
    return s;
  };
  try {
    for (const front of [a, b]) {
      assert.equal((await ask(front, "stay", "sk-acme")).provider, "small");
      assert.equal((await ask(front, "stay", "sk-acme", { chat: true })).provider, "small");
      const up = await ask(front, "up", "sk-acme");
      assert.equal(up.provider, "large");
      assert.equal(up.escalated, true);
      assert.equal((await ask(front, "up", "sk-acme", { chat: true, stream: true })).provider, "large");
    }
    // The strict tenant escalates once on replica A; replica B then finds that spend in the shared
    // ledger (its first look at this tenant) and refuses the next escalation.
    assert.equal((await ask(a, "up", "sk-strict")).provider, "large");
    const refused = await ask(b, "up", "sk-strict");
    assert.equal(refused.status, 429);
    assert.equal((await ask(b, "stay", "sk-strict")).status, 200);  // staying local is not limited
  } finally {
    await Promise.all([a.stop(), b.stop(), large.stop()]);
  }
  checkRows(served);
  checkCost();
  console.log(`route_postgres: ok (${served.length} requests on 2 replicas, one PostgreSQL ledger)`);
}

function checkRows(served) {
  const rows = sql("SELECT seq, id, tenant, route, endpoint, provider, escalated, prompt_tokens, completion_tokens, cost_usd, " +
                   "remote_cost_usd, status FROM requests ORDER BY seq");
  assert.equal(rows.length, served.length, "one row per request");
  const byId = new Map(rows.map((r) => [r.id, r]));
  for (const s of served.filter((x) => x.status === 200)) {
    const row = byId.get(s.id);
    assert.ok(row, `no ledger row for ${s.id}`);
    const want = { tenant: s.tenant, route: s.route, endpoint: s.endpoint, provider: s.provider, escalated: s.escalated ? 1 : 0,
                   prompt_tokens: s.prompt_tokens, completion_tokens: s.completion_tokens, status: 200 };
    for (const k of Object.keys(want)) assert.equal(row[k], want[k], `${s.id}.${k}`);
    assert.ok(close(row.cost_usd, s.cost), `${s.id}: ledger cost ${row.cost_usd}, client told ${s.cost}`);
    assert.equal(row.remote_cost_usd > 0, s.provider === "large", `${s.id}: remote cost ${row.remote_cost_usd}`);
    // Every attempt in order: an escalated request tried small first, then large.
    const att = sql(`SELECT provider, outcome FROM attempts WHERE request_seq = ${row.seq} ORDER BY idx`);
    if (s.escalated) assert.deepEqual(att.map((x) => `${x.provider}:${x.outcome}`), ["small:low_confidence", `large:${att[1]?.outcome}`]);
    else assert.deepEqual(att.map((x) => x.provider), ["small"]);
  }
  const r429 = rows.filter((r) => r.status === 429);
  assert.equal(r429.length, 1);
  assert.equal(r429[0].tenant, "strict");
  assert.equal(r429[0].route, "up");
  assert.equal(r429[0].remote_cost_usd, 0);
  assert.equal(r429[0].provider, "");
}

function checkCost() {
  const report = JSON.parse(execFileSync(KINGLET, ["cost", "--ledger", PG, "--json"], { encoding: "utf8" }));
  const [sum] = sql("SELECT COUNT(*)::int AS n, SUM(prompt_tokens)::int AS pt, SUM(completion_tokens)::int AS ct, " +
                    "SUM(cost_usd) AS cost, SUM(remote_cost_usd) AS remote, SUM(escalated)::int AS esc, " +
                    "SUM((status >= 400)::int)::int AS failed FROM requests");
  const t = report.totals;
  assert.deepEqual([t.requests, t.prompt_tokens, t.completion_tokens, t.escalated, t.failed], [sum.n, sum.pt, sum.ct, sum.esc, sum.failed]);
  assert.ok(close(t.cost_usd, sum.cost) && close(t.remote_cost_usd, sum.remote), `cost ${t.cost_usd} vs ${sum.cost}`);
  const routes = sql("SELECT route, COUNT(*)::int AS n, SUM(cost_usd) AS cost FROM requests GROUP BY route ORDER BY route");
  assert.equal(report.by_route.length, routes.length);
  routes.forEach((w, i) => {
    assert.equal(report.by_route[i].route, w.route);
    assert.equal(report.by_route[i].requests, w.n);
    assert.ok(close(report.by_route[i].cost_usd, w.cost));
  });
  const providers = sql("SELECT provider, SUM(cost_usd) AS cost, COUNT(*)::int AS n FROM attempts GROUP BY provider ORDER BY provider");
  assert.equal(report.by_provider.length, providers.length);
  providers.forEach((w) => {
    const p = report.by_provider.find((x) => x.provider === w.provider);
    assert.ok(p && close(p.cost_usd, w.cost), `provider ${w.provider}`);
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
