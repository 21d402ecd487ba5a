// Vocab::from_hf_json: a Hugging Face tokenizer.json (+ tokenizer_config.json) in GGUF's conventions,
// following llama.cpp's converter (convert_hf_to_gguf.py, gguf-py/gguf/vocab.py):
//
//  - Byte-level BPE (a ByteLevel pre-tokenizer or decoder) -> model "gpt2". Merges are copied in order.
//    The `pre` name llama.cpp finds by hashing the encoding of a test string is found here from the
//    pre-tokenizer itself: the Llama 3 split regex -> "llama-bpe", the Qwen 2 regex -> "qwen2", the
//    GPT-2 regex (or a plain ByteLevel with its built-in regex) -> "gpt-2", individual Digits followed by
//    ByteLevel -> "smollm". Anything else is Error(unsupported).
//  - SentencePiece-style BPE (byte_fallback, spaces replaced by U+2581) -> model "llama", pre "default".
//    `<0xNN>` pieces are byte tokens, the model's unk_token is the unknown token, and add_space_prefix is
//    true when the normalizer prepends U+2581 (Llama 2) or a Metaspace pre-tokenizer prepends it. The
//    GGUF "llama" model merges by piece score, so scores are made from the merges: a piece that merges
//    produce scores -(rank of the first merge producing it), every other piece -(number of merges),
//    added tokens -1000 as llama.cpp writes them. Hugging Face's merge lists for these vocabularies
//    contain every split of a piece into two pieces, so highest-score-first merging then picks the same
//    pairs as lowest-rank-first BPE.
//  - Added tokens: `special` ones, and ones that look special to llama.cpp (<|...|>, <unused...>, <pad>,
//    <mask>, ...), are control tokens; the others are user_defined. Unlike llama.cpp's converter, which
//    writes U+2581 in user-defined pieces as a space, their text is kept as it is: Hugging Face matches
//    them against the raw text (Gemma's "▁▁" matches two literal U+2581, not two spaces), and spaces
//    still reach such a piece through merging, as in Hugging Face. Ids without a token become
//    "[PAD<id>]" (unused).
//  - Special ids and flags from tokenizer_config.json (bos/eos/unk/pad_token matched against the added
//    tokens, add_bos_token, add_eos_token, chat_template), else from a TemplateProcessing post-processor,
//    else llama.cpp's defaults.
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unordered_map>

#include "core/error.h"
#include "core/log.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/unicode.h"
#include "tokenizer/vocab.h"

namespace kinglet {

namespace {

using json = nlohmann::json;

json read_json(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) fail(Errc::not_found, "{}: cannot open", p.string());
    try {
        return json::parse(in);
    } catch (const json::exception& e) {
        fail(Errc::invalid_file, "{}: not valid JSON: {}", p.string(), e.what());
    }
}

std::string type_of(const json& j) {
    return j.is_object() ? j.value("type", std::string()) : std::string();
}

// The pre-tokenizers in order, flattening a Sequence.
std::vector<json> flatten(const json& j, const char* list_key) {
    std::vector<json> out;
    if (j.is_null()) return out;
    if (type_of(j) == "Sequence") {
        for (const auto& x : j.at(list_key)) {
            auto sub = flatten(x, list_key);
            out.insert(out.end(), sub.begin(), sub.end());
        }
    } else {
        out.push_back(j);
    }
    return out;
}

bool looks_special(const std::string& t) {
    auto starts = [&](std::string_view p) { return t.size() >= p.size() && t.compare(0, p.size(), p) == 0; };
    auto ends = [&](std::string_view s) {
        return t.size() >= s.size() && t.compare(t.size() - s.size(), s.size(), s) == 0;
    };
    if (t == "<pad>" || t == "<mask>" || t == "<2mass>" || t == "[@BOS@]") return true;
    if (starts("<|") && ends("|>")) return true;
    if (starts("<\xEF\xBD\x9C") && ends("\xEF\xBD\x9C>")) return true;  // <｜...｜> (DeepSeek)
    return starts("<unused") && ends(">");
}

bool is_byte_piece(const std::string& t) {
    auto hex = [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; };
    return t.size() == 6 && t.compare(0, 3, "<0x") == 0 && hex(t[3]) && hex(t[4]) && t[5] == '>';
}

std::string replace_all(std::string s, std::string_view from, std::string_view to) {
    for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size()))
        s.replace(p, from.size(), to);
    return s;
}

std::pair<std::string, std::string> merge_parts(const json& m, const std::string& path) {
    if (m.is_string()) {
        const std::string s = m.get<std::string>();
        const size_t sp = s.find(' ', 1);
        if (sp == std::string::npos) fail(Errc::invalid_file, "{}: merge '{}' has no space", path, s);
        return {s.substr(0, sp), s.substr(sp + 1)};
    }
    if (m.is_array() && m.size() == 2) return {m[0].get<std::string>(), m[1].get<std::string>()};
    fail(Errc::invalid_file, "{}: a merge is neither \"a b\" nor [\"a\", \"b\"]", path);
}

// Which llama.cpp pre-tokenizer name a byte-level tokenizer.json's pre-tokenizer amounts to.
std::string detect_pre(const json& pre_tokenizer, const std::string& path) {
    const auto steps = flatten(pre_tokenizer, "pretokenizers");
    auto byte_level = [](const json& s, bool use_regex) {
        return type_of(s) == "ByteLevel" && !s.value("add_prefix_space", false) &&
               s.value("use_regex", true) == use_regex;
    };
    if (steps.size() == 2 && type_of(steps[0]) == "Split" && byte_level(steps[1], false)) {
        const json& pat = steps[0].at("pattern");
        const std::string behavior = steps[0].value("behavior", std::string());
        if (pat.contains("Regex") && behavior == "Isolated" && !steps[0].value("invert", false)) {
            const std::string re = pat.at("Regex").get<std::string>();
            if (re == kLlama3Regex) return "llama-bpe";
            if (re == kQwen2Regex) return "qwen2";
            if (re == kGpt2Regex) return "gpt-2";
        }
    }
    if (steps.size() == 1 && byte_level(steps[0], true)) return "gpt-2";
    if (steps.size() == 2 && type_of(steps[0]) == "Digits" && steps[0].value("individual_digits", false) &&
        byte_level(steps[1], true))
        return "smollm";
    fail(Errc::unsupported, "{}: the byte-level pre-tokenizer {} matches none kinglet knows ({})", path,
         pre_tokenizer.dump(), "llama-bpe, qwen2, smollm, gpt-2");
}

struct SpmStyle {
    bool ok = false;
    bool add_space_prefix = false;
};

// SentencePiece-style: spaces become U+2581, by the normalizer (Replace, maybe Prepend) or by Metaspace.
SpmStyle detect_spm(const json& j) {
    SpmStyle s;
    for (const json& n : flatten(j.value("normalizer", json()), "normalizers")) {
        const std::string t = type_of(n);
        if (t == "Replace" && n.at("pattern").value("String", std::string()) == " " &&
            n.value("content", std::string()) == unicode::kSpaceMarker)
            s.ok = true;
        if (t == "Prepend" && n.value("prepend", std::string()) == unicode::kSpaceMarker)
            s.add_space_prefix = true;
    }
    for (const json& p : flatten(j.value("pre_tokenizer", json()), "pretokenizers")) {
        if (type_of(p) == "Metaspace") {
            s.ok = true;
            const std::string scheme =
                p.value("prepend_scheme", p.value("add_prefix_space", true) ? "always" : "never");
            s.add_space_prefix = scheme != "never";
        }
    }
    return s;
}

}  // namespace

Vocab Vocab::from_hf_json(const std::string& tokenizer_json_path) {
    namespace fs = std::filesystem;
    const std::string& path = tokenizer_json_path;
    const json j = read_json(path);
    const fs::path cfg_path = fs::path(path).parent_path() / "tokenizer_config.json";
    const json cfg = fs::exists(cfg_path) ? read_json(cfg_path) : json::object();
    Vocab v;
    try {
        const json& model = j.at("model");
        if (type_of(model) != "BPE")
            fail(Errc::unsupported, "{}: tokenizer model '{}' is not supported (kinglet converts BPE)", path,
                 type_of(model));
        for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
            if (model.contains(key) && model[key].is_string() && !model[key].get<std::string>().empty())
                fail(Errc::unsupported, "{}: BPE with a {} is not supported", path, key);
        }
        const bool byte_fallback = model.value("byte_fallback", false);
        const SpmStyle spm = detect_spm(j);
        if (byte_fallback && spm.ok) {
            v.model = "llama";
            v.pre = "default";
            v.add_space_prefix = spm.add_space_prefix;
        } else if (!byte_fallback) {
            v.model = "gpt2";
            v.pre = detect_pre(j.value("pre_tokenizer", json()), path);
            v.add_space_prefix = false;
            const std::string norm = type_of(j.value("normalizer", json()));
            if (!norm.empty() && !(norm == "NFC" && v.pre == "qwen2"))
                fail(Errc::unsupported, "{}: normalizer '{}' is not supported with pre-tokenizer '{}'", path,
                     norm, v.pre);
            PreTokenizer pt(v.pre);
            if (model.value("ignore_merges", false) != pt.ignore_merges())
                log::warn("{}: ignore_merges is {} but pre-tokenizer '{}' implies {}", path,
                          model.value("ignore_merges", false), v.pre, pt.ignore_merges());
        } else {
            fail(Errc::unsupported, "{}: a byte-fallback BPE whose spaces are not U+2581 is not supported",
                 path);
        }

        // Tokens: the model's vocabulary, then the added tokens (which may repeat vocabulary entries).
        if (!model.at("vocab").is_object() || !model.at("merges").is_array())
            fail(Errc::invalid_file, "{}: model.vocab should be an object and model.merges an array", path);
        std::map<int32_t, std::string> by_id;
        for (const auto& [text, id] : model.at("vocab").items()) by_id[id.get<int32_t>()] = text;
        struct Added {
            std::string content;
            bool special;
        };
        std::map<int32_t, Added> added;
        const json added_list = j.value("added_tokens", json::array());
        for (const json& a : added_list)
            added[a.at("id").get<int32_t>()] = {a.at("content").get<std::string>(),
                                                a.value("special", false)};
        int32_t n = 0;
        if (!by_id.empty()) n = std::max(n, by_id.rbegin()->first + 1);
        if (!added.empty()) n = std::max(n, added.rbegin()->first + 1);
        if (n <= 0 || by_id.begin()->first < 0 || (!added.empty() && added.begin()->first < 0))
            fail(Errc::invalid_file, "{}: token ids are missing or negative", path);

        v.tokens.assign_empty(n);
        v.types.assign(n, TokenType::unused);
        v.scores.assign(n, 0.0f);
        const std::string unk_text =
            model.value("unk_token", json()).is_string() ? model["unk_token"].get<std::string>() : "";
        for (const auto& [id, text] : by_id) {
            v.tokens.set(id, text);
            v.types[id] = TokenType::normal;
            if (v.model == "llama") {
                if (is_byte_piece(text)) v.types[id] = TokenType::byte;
                if (text == unk_text) v.types[id] = TokenType::unknown;
            }
        }
        for (const auto& [id, a] : added) {
            if (a.special || looks_special(a.content)) {
                v.tokens.set(id, a.content);
                v.types[id] = TokenType::control;
            } else {
                v.tokens.set(id, a.content);
                v.types[id] = TokenType::user_defined;
            }
        }
        for (int32_t i = 0; i < n; ++i)
            if (v.types[i] == TokenType::unused && v.tokens[i].empty())
                v.tokens.set(i, fmt::format("[PAD{}]", i));
        v.tokens.shrink_to_fit();  // drop the texts that added tokens replaced

        // Merges: copied for byte-level BPE, turned into scores for SentencePiece-style vocabularies.
        const json& merges = model.at("merges");
        if (v.model == "gpt2") {
            v.merges.reserve(merges.size());
            for (const json& m : merges) {
                auto [a, b] = merge_parts(m, path);
                // llama.cpp's converter writes a space inside a merge part as U+0120 (GPT-2's 'Ġ').
                a = replace_all(a, " ", "\xC4\xA0");
                b = replace_all(b, " ", "\xC4\xA0");
                v.merges.push_back(a + " " + b);
            }
        } else {
            std::unordered_map<std::string, int32_t> index;
            for (const auto& [id, text] : by_id) index.emplace(text, id);
            std::vector<int64_t> first_rank(n, -1);
            for (size_t rank = 0; rank < merges.size(); ++rank) {
                auto [a, b] = merge_parts(merges[rank], path);
                auto it = index.find(a + b);
                if (it == index.end())
                    fail(Errc::invalid_file, "{}: merge '{} {}' makes '{}', which is not in the vocabulary",
                         path, a, b, a + b);
                if (first_rank[it->second] < 0) first_rank[it->second] = static_cast<int64_t>(rank);
            }
            const auto n_merges = static_cast<float>(merges.size());
            for (int32_t i = 0; i < n; ++i) {
                if (first_rank[i] >= 0)
                    v.scores[i] = -static_cast<float>(first_rank[i]);
                else if (v.types[i] == TokenType::normal)
                    v.scores[i] = -n_merges;
                else if (v.types[i] == TokenType::control || v.types[i] == TokenType::user_defined ||
                         v.types[i] == TokenType::unused)
                    v.scores[i] = -1000.0f;
            }
        }

        // Special tokens.
        auto added_id = [&](const json& entry) -> int32_t {
            std::string content;
            if (entry.is_string())
                content = entry.get<std::string>();
            else if (entry.is_object() && entry.contains("content") && entry["content"].is_string())
                content = entry["content"].get<std::string>();
            else
                return -1;
            for (const json& a : added_list)
                if (a.at("content").get<std::string>() == content) return a.at("id").get<int32_t>();
            return -1;
        };
        std::string first_special, last_special;
        for (const json& p : flatten(j.value("post_processor", json()), "processors")) {
            if (type_of(p) != "TemplateProcessing") continue;
            const json single = p.value("single", json::array());
            if (single.size() > 1) {
                if (single.front().contains("SpecialToken"))
                    first_special = single.front()["SpecialToken"].value("id", "");
                if (single.back().contains("SpecialToken"))
                    last_special = single.back()["SpecialToken"].value("id", "");
            }
        }
        const bool have_cfg = !cfg.empty();
        v.bos = added_id(cfg.value("bos_token", json()));
        v.eos = added_id(cfg.value("eos_token", json()));
        v.unk = added_id(cfg.value("unk_token", json()));
        v.pad = added_id(cfg.value("pad_token", json()));
        if (!have_cfg) {
            if (!first_special.empty()) v.bos = added_id(json(first_special));
            if (!last_special.empty()) v.eos = added_id(json(last_special));
        }
        if (v.unk < 0 && !unk_text.empty()) {
            for (const auto& [id, text] : by_id)
                if (text == unk_text) v.unk = id;
        }

        // add_bos / add_eos: llama.cpp's defaults, then the post-processor, then tokenizer_config.json.
        v.add_bos = v.model == "llama" || pre_tokenizer_adds_bos(v.pre);
        v.add_eos = false;
        if (!first_special.empty()) v.add_bos = v.bos >= 0 && v.tokens[v.bos] == first_special;
        if (!last_special.empty()) v.add_eos = v.eos >= 0 && v.tokens[v.eos] == last_special;
        if (cfg.contains("add_bos_token") && cfg["add_bos_token"].is_boolean())
            v.add_bos = cfg["add_bos_token"];
        if (cfg.contains("add_eos_token") && cfg["add_eos_token"].is_boolean())
            v.add_eos = cfg["add_eos_token"];
        if (v.add_bos && v.bos < 0) v.add_bos = false;
        if (v.add_eos && v.eos < 0) v.add_eos = false;

        const json tmpl = cfg.value("chat_template", json());
        if (tmpl.is_string()) {
            v.chat_template = tmpl.get<std::string>();
        } else if (tmpl.is_array()) {
            for (const json& t : tmpl)
                if (t.value("name", "") == "default") v.chat_template = t.value("template", "");
        }
    } catch (const json::exception& e) {
        fail(Errc::invalid_file, "{}: unexpected structure: {}", path, e.what());
    }
    v.validate(path);
    return v;
}

}  // namespace kinglet
