// The streaming chat client the serve benchmarks share (bench/load_test.js, bench/serve_cpu.js): one
// request checked for a complete stream, and a pool of clients sharing a fixed number of requests.
"use strict";

const prompts = [
  "Write a short story about a robot who learns to paint.",
  "Explain how a bicycle stays upright while moving.",
  "List five ideas for a rainy afternoon with children.",
  "Describe the water cycle to a ten-year-old.",
  "What makes a good cup of coffee? Give practical tips.",
  "Summarise the plot of a mystery novel you invent.",
  "How do plants know which way is up?",
  "Give advice to someone starting to learn the piano.",
];

function pct(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN;
}

// One streaming chat request; resolves with {ok, tokens, ttft_ms, total_ms, error}.
async function streamOnce(url, i, maxTokens) {
  const t0 = performance.now();
  let ttft = null, finish = null, usage = null, done = false, buf = "";
  try {
    const r = await fetch(url + "/v1/chat/completions", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        model: "m", stream: true, stream_options: { include_usage: true }, max_tokens: maxTokens, temperature: 0.7,
        seed: i, messages: [{ role: "user", content: prompts[i % prompts.length] }],
      }),
    });
    if (r.status !== 200) return { ok: false, error: `status ${r.status}: ${await r.text()}` };
    const decoder = new TextDecoder();
    for await (const chunk of r.body) {
      buf += decoder.decode(chunk, { stream: true });
      let k;
      while ((k = buf.indexOf("\n\n")) >= 0) {
        const ev = buf.slice(0, k);
        buf = buf.slice(k + 2);
        if (!ev.startsWith("data: ")) continue;
        const data = ev.slice(6);
        if (data === "[DONE]") { done = true; continue; }
        const j = JSON.parse(data);
        if (j.error) return { ok: false, error: JSON.stringify(j.error) };
        if (j.usage) usage = j.usage;
        const c = j.choices && j.choices[0];
        if (c && c.delta && c.delta.content && ttft === null) ttft = performance.now() - t0;
        if (c && c.finish_reason) finish = c.finish_reason;
      }
    }
  } catch (e) {
    return { ok: false, error: String(e) };
  }
  const total = performance.now() - t0;
  if (!done || !finish || !usage) return { ok: false, error: `truncated (done ${done}, finish ${finish}, usage ${!!usage})` };
  if (finish === "length" && usage.completion_tokens !== maxTokens) return { ok: false, error: `length with ${usage.completion_tokens} tokens` };
  return { ok: true, tokens: usage.completion_tokens, ttft_ms: ttft ?? total, total_ms: total };
}

// `clients` workers share `requests` requests of up to `maxTokens` tokens each.
async function load(url, clients, requests, maxTokens) {
  let next = 0;
  const results = [];
  const t0 = performance.now();
  await Promise.all(Array.from({ length: clients }, async () => {
    for (;;) {
      const i = next++;
      if (i >= requests) return;
      results.push(await streamOnce(url, i, maxTokens));
    }
  }));
  const wall = (performance.now() - t0) / 1000;
  const ok = results.filter((r) => r.ok);
  return {
    clients, requests, wall,
    failed: results.length - ok.length,
    errors: [...new Set(results.filter((r) => !r.ok).map((r) => r.error))].slice(0, 3),
    tokens: ok.reduce((s, r) => s + r.tokens, 0),
    tps: ok.reduce((s, r) => s + r.tokens, 0) / wall,
    ttft50: pct(ok.map((r) => r.ttft_ms), 50),
    ttft95: pct(ok.map((r) => r.ttft_ms), 95),
  };
}

// The value after `name` on the command line, or `def`.
function option(argv, name, def) {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : def;
}

module.exports = { prompts, pct, streamOnce, load, option };
