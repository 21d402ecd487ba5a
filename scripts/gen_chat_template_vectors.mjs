#!/usr/bin/env node
// Renders every chat template in tests/data/chat/templates/ with @huggingface/jinja (the independent
// reference) over a fixed set of conversations and writes tests/data/chat/vectors.json:
//   [{template, case, context, expected} | {template, case, context, error}]
// kinglet's chat tests render the same template and context and must match byte for byte.
//
// Usage: node scripts/gen_chat_template_vectors.mjs   (from the repository root)
// strftime_now() is pinned to 2024-07-26 12:00 UTC so dated templates are reproducible.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

process.env.TZ = "UTC";
const FIXED_NOW = Date.UTC(2024, 6, 26, 12, 0, 0);
const RealDate = Date;
globalThis.Date = class extends RealDate {
	constructor(...args) {
		if (args.length === 0) super(FIXED_NOW);
		else super(...args);
	}
	static now() {
		return FIXED_NOW;
	}
};

const { Template } = await import("@huggingface/jinja");
const jinjaVersion = JSON.parse(
	fs.readFileSync(new URL("../node_modules/@huggingface/jinja/package.json", import.meta.url), "utf8"),
).version;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dataDir = path.join(root, "tests/data/chat");
const templateDir = path.join(dataDir, "templates");

// Special tokens each model's tokenizer_config.json declares.
const TOKENS = {
	"llama3-8b-instruct": ["<|begin_of_text|>", "<|eot_id|>"],
	"llama-3.2-3b-instruct": ["<|begin_of_text|>", "<|eot_id|>"],
	qwen3: ["", "<|im_end|>"],
	"gemma3-it": ["<bos>", "<end_of_turn>"],
	"phi-3.5-mini-instruct": ["<s>", "<|endoftext|>"],
	"mistral-7b-instruct-v0.1": ["<s>", "</s>"],
	"mistral-7b-instruct-v0.2-legacy": ["<s>", "</s>"],
	"mistral-7b-instruct-v0.3": ["<s>", "</s>"],
	"mistral-nemo-instruct-2407": ["<s>", "</s>"],
	"smollm2-instruct": ["<|im_start|>", "<|im_end|>"],
	"granite-3.0-8b-instruct": ["<|end_of_text|>", "<|end_of_text|>"],
	"granite-3.3-2b-instruct": ["<|end_of_text|>", "<|end_of_text|>"],
	"llama-2-7b-chat": ["<s>", "</s>"],
	"deepseek-r1-distill": ["<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"],
	"deepseek-r1-distill-qwen-32b-llamacpp": ["<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"],
};

const msg = (role, content, extra = {}) => ({ role, content, ...extra });

const CONVERSATIONS = {
	single_user: [msg("user", "Hello!")],
	system_multi_turn: [
		msg("system", "You are a helpful assistant."),
		msg("user", "What is 2 + 2?"),
		msg("assistant", "2 + 2 = 4."),
		msg("user", "And 3 + 3?"),
	],
	multi_turn: [msg("user", "Hi"), msg("assistant", "Hello! How can I help?"), msg("user", "Tell me a joke.")],
	special_chars: [
		msg("system", 'Answer in "quotes".\nUse \'single\' ones too.'),
		msg("user", "Line one\nLine two\twith a tab\n\n  indented — ünïcödé ✓ 😀 中文 \\ backslash"),
		msg("assistant", '  Sure:\n"quoted" & <tag> {{ not jinja }} {% neither %}  '),
		msg("user", "Thanks 🙏\r\nbye"),
	],
	ends_with_assistant: [msg("user", "Say hi."), msg("assistant", "Hi!")],
	thinking: [
		msg("user", "What is 7 * 6?"),
		msg("assistant", "<think>\nSeven sixes.\n</think>\n\nIt is 42."),
		msg("user", "And 7 * 7?"),
	],
};

const WEATHER_TOOL = {
	type: "function",
	function: {
		name: "get_weather",
		description: "Get the current weather in a city",
		parameters: {
			type: "object",
			properties: {
				location: { type: "string", description: "City name, e.g. Paris" },
				unit: { type: "string", enum: ["celsius", "fahrenheit"] },
			},
			required: ["location"],
		},
	},
};

const TOOL_CONVERSATION = [
	msg("user", "What's the weather in Paris?"),
	msg("assistant", "", {
		tool_calls: [
			{ id: "call12345", type: "function", function: { name: "get_weather", arguments: { location: "Paris", unit: "celsius" } } },
		],
	}),
	msg("tool", '{"temperature": 22, "sky": "clear"}', { tool_call_id: "call12345" }),
	msg("assistant", "It is 22 °C and clear in Paris."),
	msg("user", "Thanks!"),
];

// DeepSeek R1 expects content none and string arguments on tool-call turns.
const DEEPSEEK_TOOL_CONVERSATION = [
	msg("user", "What's the weather in Paris?"),
	msg("assistant", null, {
		tool_calls: [
			{ id: "call12345", type: "function", function: { name: "get_weather", arguments: '{"location": "Paris"}' } },
		],
	}),
	msg("tool", '{"temperature": 22}'),
	msg("assistant", "It is 22 °C in Paris."),
	msg("user", "Thanks!"),
];

function extraCases(name) {
	const cases = [];
	if (["qwen3", "llama-3.2-3b-instruct", "mistral-7b-instruct-v0.3", "mistral-nemo-instruct-2407",
		"granite-3.0-8b-instruct", "granite-3.3-2b-instruct"].includes(name)) {
		cases.push(["tools", { messages: TOOL_CONVERSATION, tools: [WEATHER_TOOL] }]);
	}
	if (name.startsWith("deepseek")) cases.push(["tools", { messages: DEEPSEEK_TOOL_CONVERSATION }]);
	if (name === "qwen3") cases.push(["no_thinking", { messages: CONVERSATIONS.multi_turn, enable_thinking: false }]);
	if (name === "granite-3.3-2b-instruct") {
		cases.push(["documents", {
			messages: CONVERSATIONS.single_user,
			documents: [{ doc_id: 1, text: "Paris is the capital of France." }, { doc_id: 2, text: "It has 2.1 million people." }],
			controls: { citations: true, length: "short" },
		}]);
		cases.push(["thinking", { messages: CONVERSATIONS.single_user, thinking: true }]);
	}
	if (name === "llama-3.2-3b-instruct") {
		cases.push(["tools_in_system", { messages: TOOL_CONVERSATION, tools: [WEATHER_TOOL], tools_in_user_message: false }]);
		cases.push(["date_string", { messages: CONVERSATIONS.single_user, date_string: "01 Jan 2025" }]);
	}
	return cases;
}

const vectors = [];
for (const file of fs.readdirSync(templateDir).filter((f) => f.endsWith(".jinja")).sort()) {
	const name = file.slice(0, -".jinja".length);
	if (!(name in TOKENS)) throw new Error(`no special tokens listed for ${name}`);
	const [bos_token, eos_token] = TOKENS[name];
	const source = fs.readFileSync(path.join(templateDir, file), "utf8");
	const template = new Template(source);
	const cases = [];
	for (const [convName, messages] of Object.entries(CONVERSATIONS)) cases.push([convName, { messages }]);
	cases.push(...extraCases(name));
	for (const [caseName, vars] of cases) {
		for (const add_generation_prompt of [true, false]) {
			const context = { ...vars, add_generation_prompt, bos_token, eos_token };
			const entry = { template: file, case: `${caseName}/${add_generation_prompt ? "gen" : "nogen"}`, context };
			try {
				// render() may not mutate its input, but give it a copy to be sure.
				entry.expected = template.render(structuredClone(context));
			} catch (e) {
				entry.error = e.message;
			}
			vectors.push(entry);
		}
	}
}

const out = {
	generator: "scripts/gen_chat_template_vectors.mjs",
	reference: `@huggingface/jinja ${jinjaVersion}`,
	strftime_now_utc: new RealDate(FIXED_NOW).toISOString(),
	vectors,
};
fs.writeFileSync(path.join(dataDir, "vectors.json"), JSON.stringify(out, null, 1) + "\n");
const errors = vectors.filter((v) => "error" in v).length;
console.log(`wrote ${vectors.length} vectors (${errors} expected errors) to tests/data/chat/vectors.json`);
