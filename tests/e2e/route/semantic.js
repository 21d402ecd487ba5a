// See tests/e2e/route_semantic.sh. Three local models: stories260K Q8_0 ("small", also the embedding
// model), stories260K F32 ("story") and aidreams260K Q8_0 ("dream"). Two domain routes over the same
// two semantic domains (one example utterance each), one strict (min_similarity 0.9999), one that
// always takes the nearest domain (min_similarity -1). The expected choices are computed here from the
// server's /v1/embeddings (cosine, by this test's own arithmetic), not from the router.
"use strict";
const assert = require("assert/strict");
const path = require("path");
const { execFileSync } = require("child_process");
const { startServer, tempFile, post } = require("../serve/harness.js");

const KINGLET = process.env.KINGLET;
const SHARED = path.join(process.env.KINGLET_SHARED_DIR, "models");

const DOMAINS = {
  pets: { target: "story", example: "The little dog ran after the ball in the park." },
  dreams: { target: "dream", example: "I dreamed of a machine that sang to the stars." },
};
const UNRELATED = "Quarterly invoice 4471: net 30, wire transfer to account 0098.";

function config(ledger) {
  const domains = (indent) =>
    Object.entries(DOMAINS)
      .map(([name, d]) => `${indent}${name}: { target: ${d.target}, examples: [${JSON.stringify(d.example)}] }`)
      .join("\n");
  const route = (minSim) => `
    policy: domain
    default: small
    embedding_model: small
    min_similarity: ${minSim}
    domains:
${domains("      ")}`;
  return `
models:
  small: { path: ${SHARED}/stories260K/model-q8_0.gguf, parallel: 2, threads: 1 }
  story: { path: ${SHARED}/stories260K/model-f32.gguf, parallel: 1, threads: 1 }
  dream: { path: ${SHARED}/aidreams260K/model-q8_0.gguf, parallel: 1, threads: 1 }
routes:
  strict:${route(0.9999)}
  nearest:${route(-1)}
ledger: { url: "sqlite://${ledger}" }
`;
}

function unit(v) {
  const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return v.map((x) => x / n);
}
const dot = (a, b) => a.reduce((s, x, i) => s + x * b[i], 0);

async function main() {
  const ledger = path.join(path.dirname(tempFile("x", "")), "ledger.db");
  const front = await startServer(KINGLET, ["-c", tempFile("semantic.yaml", config(ledger))]);
  const served = [];  // {id, route, provider}
  const complete = async (route, prompt) => {
    const r = await post(front.url + "/v1/completions", { model: route, prompt, max_tokens: 3, temperature: 0 });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get("x-kinglet-route"), route);
    served.push({ id: r.body.id, route, provider: r.headers.get("x-kinglet-provider") });
    return r.headers.get("x-kinglet-provider");
  };
  try {
    // The reference: the embedding model's own vectors, compared here.
    const texts = [...Object.values(DOMAINS).map((d) => d.example), UNRELATED];
    const e = await post(front.url + "/v1/embeddings", { model: "small", input: texts });
    assert.equal(e.status, 200, e.text);
    const vec = e.body.data.map((d) => unit(d.embedding));
    const names = Object.keys(DOMAINS);
    const sims = names.map((_, i) => dot(vec[names.length], vec[i]));
    // Preconditions of what follows: the domains are told apart, and the unrelated text is not a copy
    // of either example (else no threshold could separate them).
    assert.ok(dot(vec[0], vec[1]) < 0.9999, `the two examples embed alike (${dot(vec[0], vec[1])})`);
    assert.ok(Math.max(...sims) < 0.9999, `the unrelated text is too close to an example (${sims})`);

    // One of a domain's example utterances, sent as it is: similarity 1 to that domain's centroid (its
    // only example), so even the strict route takes that domain.
    for (const [name, d] of Object.entries(DOMAINS)) {
      assert.equal(await complete("strict", d.example), d.target, name);
      assert.equal(await complete("nearest", d.example), d.target, name);
    }
    // An unrelated request: under the strict threshold it goes to the default; with no threshold, to the
    // domain whose example is nearest by this test's cosine.
    assert.equal(await complete("strict", UNRELATED), "small");
    const nearest = names[sims.indexOf(Math.max(...sims))];
    assert.equal(await complete("nearest", UNRELATED), DOMAINS[nearest].target, `similarities ${sims}`);
  } finally {
    await front.stop();
  }

  // The ledger has one row per request, with the route and the provider the client was told.
  const rows = JSON.parse(execFileSync("sqlite3", ["-json", ledger,
    "SELECT r.id, r.route, r.provider, r.status, r.escalated, a.provider AS attempt, a.outcome " +
    "FROM requests r JOIN attempts a ON a.request_seq = r.seq ORDER BY r.seq, a.idx"], { encoding: "utf8" }));
  assert.equal(rows.length, served.length, "one attempt row per request");
  for (const s of served) {
    const row = rows.find((r) => r.id === s.id);
    assert.ok(row, `no ledger row for ${s.id}`);
    assert.deepEqual([row.route, row.provider, row.attempt, row.status, row.escalated],
                     [s.route, s.provider, s.provider, 200, 0], s.id);
    assert.ok(["ok", "length"].includes(row.outcome), `${s.id}: ${row.outcome}`);
  }
  console.log("route_semantic: ok");
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
