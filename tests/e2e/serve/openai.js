// kinglet serve driven by the official `openai` npm client and curl, on the shared stories260K model
// (no chat template in the file: the built-in ChatML fallback applies). References are independent:
// llama2.c's greedy outputs (text, top-10 logits), `kinglet run --temp 0 --json`, a hand-written ChatML
// rendering tokenized by `kinglet tokenize`, and properties (norms, reproducibility, concatenation).
"use strict";
const assert = require("assert");
const fs = require("fs");
const path = require("path");
const { execFileSync } = require("child_process");
const OpenAI = require("openai").default;
const { startServer, metric, tempFile, post, curl, sleep } = require("./harness");

const kinglet = process.env.KINGLET;
const models = path.join(process.env.KINGLET_SHARED_DIR, "models");
const gguf = path.join(models, "stories260K", "model-f32.gguf");
const ref = JSON.parse(fs.readFileSync(path.join(models, "stories260K", "ref-llama2c-greedy.json"), "utf8"));

function run(args) {
  return JSON.parse(
    execFileSync(kinglet, ["run", "--json", "--temp", "0", "--kv-type", "f32", "-m", gguf, ...args], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    }),
  );
}

async function main() {
  // F32 KV cache so greedy ids match llama2.c's float32 run exactly (as tests/e2e/run_reference.sh).
  const config = tempFile("kinglet.yaml", `models:\n  tiny:\n    path: ${gguf}\n    kv_type: f32\n    parallel: 4\n`);
  const server = await startServer(kinglet, ["--config", config]);
  const client = new OpenAI({ baseURL: server.url + "/v1", apiKey: "unused", maxRetries: 0 });
  let checks = 0;

  // --- /v1/models
  const list = await client.models.list();
  assert.deepStrictEqual(list.data.map((m) => m.id), ["tiny"]);
  assert.strictEqual(list.data[0].max_model_len, 512);
  assert.strictEqual(list.data[0].kinglet.chat_template, "chatml");

  // --- completions, greedy, against llama2.c (every reference prompt, every generated token)
  for (const r of ref.results) {
    const c = await client.completions.create({ model: "tiny", prompt: r.prompt, max_tokens: r.ids.length, temperature: 0 });
    assert.strictEqual(c.object, "text_completion");
    // After BOS alone (the empty prompt) llama2.c's decoder drops the first piece's leading space; a
    // continuation of the prompt text keeps it.
    // A generated BOS (llama2.c stops there and prints its piece, "\n<s>\n") is a control token: no text.
    const text = r.prompt === "" ? c.choices[0].text.replace(/^ /, "") : c.choices[0].text;
    const expected = r.ids[r.ids.length - 1] === 1 ? r.text.replace(/\n<s>\n$/, "") : r.text;
    assert.strictEqual(text, expected, `completion of ${JSON.stringify(r.prompt)}`);
    assert.strictEqual(c.usage.prompt_tokens, r.prompt_ids.length);
    assert.strictEqual(c.usage.completion_tokens, r.ids.length);
    assert.strictEqual(c.usage.total_tokens, r.prompt_ids.length + r.ids.length);
    checks++;
  }

  // --- completions logprobs against llama2.c's top-10 logits: log-probability differences between
  // candidates equal logit differences.
  {
    const r = ref.results.find((x) => x.prompt === "Once upon a time");
    const n = 24;
    const c = await client.completions.create({ model: "tiny", prompt: r.prompt, max_tokens: n, temperature: 0, logprobs: 5 });
    const lp = c.choices[0].logprobs;
    assert.strictEqual(lp.tokens.length, n);
    assert.strictEqual(lp.tokens.join(""), c.choices[0].text);
    for (let i = 0; i < n; i++) {
      const vals = Object.values(lp.top_logprobs[i]).sort((a, b) => b - a);
      assert.ok(vals.length >= 4 && vals.length <= 6, `step ${i}: ${vals.length} alternatives`);
      assert.ok(Math.abs(lp.token_logprobs[i] - vals[0]) < 1e-6, "greedy picks the most likely token");
      const logits = r.top10[i].map(([, l]) => l);
      for (let k = 1; k < vals.length - 1; k++)
        assert.ok(Math.abs(vals[0] - vals[k] - (logits[0] - logits[k])) < 2e-3, `step ${i} rank ${k}: ${vals[0] - vals[k]} vs ${logits[0] - logits[k]}`);
      assert.ok(vals.reduce((s, v) => s + Math.exp(v), 0) <= 1 + 1e-5);
      assert.strictEqual(lp.text_offset[i], lp.tokens.slice(0, i).join("").length);
    }
    checks++;
  }

  // --- the same greedy prompt through `kinglet run` and through the server
  {
    const prompt = "Tom had 3 apples.";
    const out = run(["-p", prompt, "-n", "60"]);
    const c = await client.completions.create({ model: "tiny", prompt, max_tokens: 60, temperature: 0 });
    assert.strictEqual(c.choices[0].text, out.text);
    assert.strictEqual(c.usage.prompt_tokens, out.prompt_tokens.length);
    assert.strictEqual(c.usage.completion_tokens, out.tokens.length);
    assert.strictEqual(c.choices[0].finish_reason, out.finish_reason);
    const chatOut = run(["--chat", "-p", "Tell me a story", "-n", "48"]);
    const chat = await client.chat.completions.create({
      model: "tiny", messages: [{ role: "user", content: "Tell me a story" }], max_tokens: 48, temperature: 0,
    });
    assert.strictEqual(chat.choices[0].message.content, chatOut.text);
    assert.strictEqual(chat.usage.prompt_tokens, chatOut.prompt_tokens.length);
    assert.strictEqual(chat.choices[0].finish_reason, chatOut.finish_reason);
    checks++;
  }

  // --- chat: the prompt is ChatML as written by hand here (no BOS: the template decides), tokenized
  // by `kinglet tokenize`
  {
    const messages = [{ role: "system", content: "You tell stories." }, { role: "user", content: "Once upon a time" }];
    const chatml = "<|im_start|>system\nYou tell stories.<|im_end|>\n<|im_start|>user\nOnce upon a time<|im_end|>\n<|im_start|>assistant\n";
    const ids = JSON.parse(execFileSync(kinglet, ["tokenize", "-m", gguf, "--special", "--no-bos", chatml], { encoding: "utf8" }));
    const tok = await post(server.url + "/tokenize", { model: "tiny", messages });
    assert.deepStrictEqual(tok.body.tokens, ids);
    const chat = await client.chat.completions.create({ model: "tiny", messages, max_tokens: 30, temperature: 0 });
    assert.strictEqual(chat.object, "chat.completion");
    assert.match(chat.id, /^chatcmpl-/);
    assert.strictEqual(chat.model, "tiny");
    assert.strictEqual(chat.choices.length, 1);
    assert.strictEqual(chat.choices[0].message.role, "assistant");
    assert.strictEqual(typeof chat.choices[0].message.content, "string");
    assert.ok(["stop", "length"].includes(chat.choices[0].finish_reason));
    assert.strictEqual(chat.usage.prompt_tokens, ids.length);
    if (chat.choices[0].finish_reason === "length") assert.strictEqual(chat.usage.completion_tokens, 30);
    // content parts are the same text
    const parts = await client.chat.completions.create({
      model: "tiny",
      messages: [messages[0], { role: "user", content: [{ type: "text", text: "Once upon a time" }] }],
      max_tokens: 30, temperature: 0,
    });
    assert.strictEqual(parts.choices[0].message.content, chat.choices[0].message.content);

    // --- streaming: deltas concatenate to the same text; role first; usage last
    const stream = await client.chat.completions.create({
      model: "tiny", messages, max_tokens: 30, temperature: 0, stream: true, stream_options: { include_usage: true },
    });
    let text = "", first = true, finish = null, usage = null, chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      assert.strictEqual(chunk.object, "chat.completion.chunk");
      if (chunk.usage) {
        usage = chunk.usage;
        assert.strictEqual(chunk.choices.length, 0);
        continue;
      }
      assert.strictEqual(chunk.usage, null);
      const c = chunk.choices[0];
      if (first) assert.strictEqual(c.delta.role, "assistant");
      first = false;
      if (c.delta.content) text += c.delta.content;
      if (c.finish_reason) finish = c.finish_reason;
    }
    assert.ok(chunks >= 3);
    assert.strictEqual(text, chat.choices[0].message.content);
    assert.strictEqual(finish, chat.choices[0].finish_reason);
    assert.deepStrictEqual(
      { p: usage.prompt_tokens, c: usage.completion_tokens },
      { p: chat.usage.prompt_tokens, c: chat.usage.completion_tokens },
    );
    checks++;
  }

  // --- streaming completions concatenate to the llama2.c text
  {
    const r = ref.results.find((x) => x.prompt === "Once upon a time");
    const stream = await client.completions.create({ model: "tiny", prompt: r.prompt, max_tokens: 40, temperature: 0, stream: true });
    let text = "", finish = null;
    for await (const chunk of stream) {
      text += chunk.choices[0].text;
      if (chunk.choices[0].finish_reason) finish = chunk.choices[0].finish_reason;
    }
    assert.ok(r.text.startsWith(text) && text.length > 0);
    assert.strictEqual(finish, "length");
    checks++;
  }

  // --- stop strings and max_tokens against the reference text
  {
    const r = ref.results.find((x) => x.prompt === "Once upon a time");
    const c = await client.completions.create({ model: "tiny", prompt: r.prompt, max_tokens: 100, temperature: 0, stop: ["Lily"] });
    assert.strictEqual(c.choices[0].text, r.text.slice(0, r.text.indexOf("Lily")));
    assert.strictEqual(c.choices[0].finish_reason, "stop");
    const s = await client.completions.create({ model: "tiny", prompt: r.prompt, max_tokens: 100, temperature: 0, stop: "named Li" });
    assert.strictEqual(s.choices[0].text, r.text.slice(0, r.text.indexOf("named Li")));
    const l = await client.completions.create({ model: "tiny", prompt: r.prompt, max_tokens: 5, temperature: 0 });
    assert.strictEqual(l.choices[0].finish_reason, "length");
    assert.strictEqual(l.usage.completion_tokens, 5);
    assert.ok(r.text.startsWith(l.choices[0].text) && l.choices[0].text.length > 0);
    // completions default to 16 tokens, as OpenAI's do
    const d = await client.completions.create({ model: "tiny", prompt: r.prompt, temperature: 0 });
    assert.strictEqual(d.usage.completion_tokens, 16);
    assert.strictEqual(d.choices[0].finish_reason, "length");
    // the prompt as token ids gives the same answer
    const ids = await client.completions.create({ model: "tiny", prompt: r.prompt_ids, max_tokens: 5, temperature: 0 });
    assert.strictEqual(ids.choices[0].text, l.choices[0].text);
    // echo puts the prompt first
    const echo = await client.completions.create({ model: "tiny", prompt: r.prompt, max_tokens: 5, temperature: 0, echo: true });
    assert.strictEqual(echo.choices[0].text, r.prompt + l.choices[0].text);
    checks++;
  }

  // --- n choices with a seed are reproducible; each has its index
  {
    const req = { model: "tiny", prompt: "Once upon a time", max_tokens: 20, temperature: 1, n: 3, seed: 7 };
    const a = await client.completions.create(req);
    const b = await client.completions.create(req);
    assert.deepStrictEqual(a.choices.map((c) => c.index), [0, 1, 2]);
    assert.deepStrictEqual(a.choices.map((c) => c.text), b.choices.map((c) => c.text));
    assert.strictEqual(a.usage.prompt_tokens, 5);  // one prompt, counted once
    const full = a.choices.filter((c) => c.finish_reason === "length").length;
    assert.ok(a.usage.completion_tokens >= full * 20 && a.usage.completion_tokens <= 60, JSON.stringify(a.usage));
    const two = await client.completions.create({ model: "tiny", prompt: ["Once upon a time", "Tom had"], max_tokens: 4, temperature: 0 });
    assert.strictEqual(two.choices.length, 2);
    assert.ok(ref.results.find((x) => x.prompt === "Once upon a time").text.startsWith(two.choices[0].text));
    checks++;
  }

  // --- chat logprobs: OpenAI's shape; tokens concatenate to the content
  {
    const c = await client.chat.completions.create({
      model: "tiny", messages: [{ role: "user", content: "Hi" }], max_tokens: 12, temperature: 0, logprobs: true, top_logprobs: 3,
    });
    const content = c.choices[0].logprobs.content;
    assert.ok(content.length > 0 && content.length <= 12);
    assert.strictEqual(content.map((t) => t.token).join(""), c.choices[0].message.content);
    for (const t of content) {
      assert.strictEqual(typeof t.logprob, "number");
      assert.ok(t.logprob <= 0);
      assert.deepStrictEqual(Buffer.from(t.bytes).toString("utf8"), t.token);
      assert.strictEqual(t.top_logprobs.length, 3);
      assert.strictEqual(t.top_logprobs[0].token, t.token);  // greedy
      for (let k = 1; k < 3; k++) assert.ok(t.top_logprobs[k - 1].logprob >= t.top_logprobs[k].logprob);
    }
    checks++;
  }

  // --- JSON mode: response_format json_object restricts the answer to one JSON object. This model
  // writes children's stories, so logit_bias nudges it towards quotes and closing braces (ids from
  // `kinglet tokenize`) and some answers close before max_tokens: those must parse as objects (Node's
  // JSON.parse is the judge); the others stop at max_tokens with finish_reason "length".
  {
    const t = JSON.parse(execFileSync(kinglet, ["tokenize", "--json", "--no-bos", "-m", gguf, ' }"'], { encoding: "utf8" }));
    const id = (piece) => t.ids[t.pieces.indexOf(piece)];
    const bias = { [id("}")]: 10, [id('"')]: 6 };
    const req = {
      model: "tiny", messages: [{ role: "user", content: "Give me a JSON object." }], max_tokens: 64, temperature: 1,
      seed: 3, n: 6, logit_bias: bias, response_format: { type: "json_object" },
    };
    const c = await client.chat.completions.create(req);
    let closed = 0;
    for (const ch of c.choices) {
      if (ch.finish_reason === "stop") {
        const v = JSON.parse(ch.message.content);
        assert.ok(v !== null && typeof v === "object" && !Array.isArray(v), ch.message.content);
        closed++;
      } else {
        assert.strictEqual(ch.finish_reason, "length");
        assert.ok(ch.message.content.startsWith("{"), ch.message.content);
      }
    }
    assert.ok(closed >= 2, `only ${closed} of 6 answers closed their object`);
    // Streamed: the deltas of the same request concatenate to the same answers.
    const stream = await client.chat.completions.create({ ...req, stream: true });
    const parts = ["", "", "", "", "", ""];
    for await (const chunk of stream) for (const ch of chunk.choices) parts[ch.index] += ch.delta.content ?? "";
    assert.deepStrictEqual(parts, c.choices.map((ch) => ch.message.content));
    // Without the format, the same request is not constrained (the story text is not JSON).
    const plain = await client.chat.completions.create({ ...req, response_format: { type: "text" }, logit_bias: undefined, n: 1 });
    assert.ok(!plain.choices[0].message.content.startsWith("{"), plain.choices[0].message.content);
    // Greedy JSON mode through the server equals `kinglet run --json-object`.
    const runOut = run(["--chat", "--json-object", "-p", "Give me a JSON object.", "-n", "40"]);
    const greedy = await client.chat.completions.create({ ...req, temperature: 0, n: 1, max_tokens: 40, logit_bias: undefined });
    assert.ok(runOut.text.startsWith("{"), runOut.text);
    assert.strictEqual(greedy.choices[0].message.content, runOut.text);
    assert.strictEqual(greedy.choices[0].finish_reason, runOut.finish_reason);
    // json_schema: the answer is an instance of the schema (an enum and an integer here; the model
    // cannot write anything else), and ends when the object is complete.
    const schema = {
      type: "object", properties: { kind: { enum: ["cat", "dog", "bird"] }, legs: { type: "integer" } },
      required: ["kind", "legs"], additionalProperties: false,
    };
    const typed = await client.chat.completions.create({
      ...req, n: 4, max_tokens: 160, response_format: { type: "json_schema", json_schema: { name: "animal", strict: true, schema } },
    });
    let instances = 0;
    for (const ch of typed.choices) {
      if (ch.finish_reason !== "stop") continue;
      const v = JSON.parse(ch.message.content);
      assert.deepStrictEqual(Object.keys(v).sort(), ["kind", "legs"], ch.message.content);
      assert.ok(["cat", "dog", "bird"].includes(v.kind) && Number.isInteger(v.legs), ch.message.content);
      instances++;
    }
    assert.ok(instances >= 2, `only ${instances} of 4 schema answers completed`);
    // A schema keyword kinglet cannot enforce is refused, naming it, rather than ignored.
    await assert.rejects(
      client.chat.completions.create({
        ...req, response_format: { type: "json_schema", json_schema: { name: "x", schema: { type: "string", pattern: "^a" } } },
      }),
      (e) => e.status === 400 && /#\/pattern/.test(e.message) && e.param === "response_format.json_schema.schema",
    );
    checks++;
  }

  // --- embeddings: unit vectors (mean of final-normed hidden states, L2-normalised), deterministic,
  // base64 (the client's default) equal to floats, text equal to its token ids
  {
    const e = await client.embeddings.create({ model: "tiny", input: ["Once upon a time", "The cat sat."] });
    assert.strictEqual(e.data.length, 2);
    for (const d of e.data) {
      assert.strictEqual(d.embedding.length, 64);
      const norm = Math.sqrt(d.embedding.reduce((s, v) => s + v * v, 0));
      assert.ok(Math.abs(norm - 1) < 1e-4, `norm ${norm}`);
    }
    assert.notDeepStrictEqual(e.data[0].embedding, e.data[1].embedding);
    const floats = await post(server.url + "/v1/embeddings", { model: "tiny", input: "Once upon a time", encoding_format: "float" });
    assert.strictEqual(floats.status, 200);
    floats.body.data[0].embedding.forEach((v, i) => assert.strictEqual(Math.fround(v), e.data[0].embedding[i]));
    const byIds = await post(server.url + "/v1/embeddings", { model: "tiny", input: [1, 403, 407, 261, 378], encoding_format: "float" });
    assert.deepStrictEqual(byIds.body.data[0].embedding, floats.body.data[0].embedding);
    assert.strictEqual(e.usage.prompt_tokens, 5 + (await post(server.url + "/tokenize", { prompt: "The cat sat." })).body.count);
    checks++;
  }

  // --- tokenize / detokenize agree with `kinglet tokenize`
  {
    const text = "Lily and Ben went to the park.";
    const ids = JSON.parse(execFileSync(kinglet, ["tokenize", "-m", gguf, text], { encoding: "utf8" }));
    const t = await post(server.url + "/tokenize", { model: "tiny", prompt: text });
    assert.deepStrictEqual(t.body.tokens, ids);
    assert.strictEqual(t.body.count, ids.length);
    assert.strictEqual(t.body.max_model_len, 512);
    const nb = await post(server.url + "/tokenize", { model: "tiny", prompt: text, add_special_tokens: false });
    assert.deepStrictEqual(nb.body.tokens, ids.slice(1));
    const d = await post(server.url + "/detokenize", { model: "tiny", tokens: ids.slice(1) });
    assert.strictEqual(d.body.prompt, text);
    checks++;
  }

  // --- prefix cache: the second request with the same long system prompt reuses its KV
  {
    const system = ref.results.find((x) => x.prompt === "Once upon a time").text.slice(0, 400);
    const messages = [{ role: "system", content: system }, { role: "user", content: "Go on." }];
    const a = await client.chat.completions.create({ model: "tiny", messages, max_tokens: 4, temperature: 0 });
    const b = await client.chat.completions.create({ model: "tiny", messages, max_tokens: 4, temperature: 0 });
    assert.ok(a.usage.prompt_tokens > 64);
    assert.ok(b.usage.prompt_tokens_details.cached_tokens >= 32, JSON.stringify(b.usage));
    assert.strictEqual(b.choices[0].message.content, a.choices[0].message.content);
    checks++;
  }

  // --- curl, as the README shows it
  {
    assert.deepStrictEqual(JSON.parse(curl([server.url + "/health"])), { status: "ok" });
    const out = JSON.parse(curl([server.url + "/v1/chat/completions", "-H", "Content-Type: application/json", "-d",
      JSON.stringify({ model: "tiny", messages: [{ role: "user", content: "Hello" }], max_tokens: 8 })]));
    assert.strictEqual(out.choices[0].message.role, "assistant");
    const sse = curl(["-N", server.url + "/v1/completions", "-H", "Content-Type: application/json", "-d",
      JSON.stringify({ model: "tiny", prompt: "Once upon a time", max_tokens: 8, temperature: 0, stream: true })]);
    const events = sse.split("\n\n").filter((e) => e.startsWith("data: ")).map((e) => e.slice(6));
    assert.strictEqual(events[events.length - 1], "[DONE]");
    const text = events.slice(0, -1).map((e) => JSON.parse(e).choices[0].text).join("");
    assert.ok(ref.results.find((x) => x.prompt === "Once upon a time").text.startsWith(text) && text.length > 0);
    const metrics = curl([server.url + "/metrics"]);
    assert.ok(metric(metrics, "kinglet_requests_total", 'endpoint="/v1/completions",status="200"') >= 10);
    assert.ok(metric(metrics, "kinglet_completion_tokens_total", 'model="tiny"') > 0);
    assert.ok(metric(metrics, "kinglet_time_to_first_token_seconds_count", 'model="tiny"') > 0);
    assert.strictEqual(metric(metrics, "kinglet_active_sequences", 'model="tiny"'), 0);
    checks++;
  }

  // --- graceful shutdown: a stream in flight when SIGTERM arrives still completes; exit status 0
  {
    const stream = await client.completions.create({ model: "tiny", prompt: "Once upon a time", max_tokens: 150, temperature: 0, stream: true });
    let text = "", finish = null, signalled = false, exit;
    for await (const chunk of stream) {
      text += chunk.choices[0].text;
      if (chunk.choices[0].finish_reason) finish = chunk.choices[0].finish_reason;
      if (!signalled) {
        signalled = true;
        exit = server.stop("SIGTERM");
        await sleep(50);
        const late = await post(server.url + "/v1/completions", { model: "tiny", prompt: "x", max_tokens: 2 }).catch(() => ({ status: "refused" }));
        assert.ok(late.status === 503 || late.status === "refused", `late request: ${late.status}`);
      }
    }
    assert.strictEqual(finish, "length");
    assert.strictEqual(text, ref.results.find((x) => x.prompt === "Once upon a time").text.slice(0, text.length));
    const { code } = await exit;
    assert.strictEqual(code, 0, server.stderr());
    checks++;
  }
  console.log(`serve openai e2e: ok (${checks} groups)`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
