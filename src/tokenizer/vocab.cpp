#include "tokenizer/vocab.h"

#include <fmt/format.h>

#include "core/error.h"
#include "core/log.h"
#include "gguf/reader.h"
#include "gguf/writer.h"
#include "tokenizer/pretokenizer.h"

namespace kinglet {

namespace {

constexpr const char* kModel = "tokenizer.ggml.model";
constexpr const char* kPre = "tokenizer.ggml.pre";
constexpr const char* kTokens = "tokenizer.ggml.tokens";
constexpr const char* kScores = "tokenizer.ggml.scores";
constexpr const char* kTypes = "tokenizer.ggml.token_type";
constexpr const char* kMerges = "tokenizer.ggml.merges";
constexpr const char* kAddBos = "tokenizer.ggml.add_bos_token";
constexpr const char* kAddEos = "tokenizer.ggml.add_eos_token";
constexpr const char* kAddSpace = "tokenizer.ggml.add_space_prefix";
constexpr const char* kChatTemplate = "tokenizer.chat_template";

struct SpecialKey {
    const char* key;
    int32_t Vocab::*field;
};
constexpr SpecialKey kSpecialKeys[] = {
    {"tokenizer.ggml.bos_token_id", &Vocab::bos},     {"tokenizer.ggml.eos_token_id", &Vocab::eos},
    {"tokenizer.ggml.eot_token_id", &Vocab::eot},     {"tokenizer.ggml.eom_token_id", &Vocab::eom},
    {"tokenizer.ggml.unknown_token_id", &Vocab::unk}, {"tokenizer.ggml.padding_token_id", &Vocab::pad},
};

const gguf::Value& string_array(const gguf::Reader& r, const char* key) {
    const gguf::Value& v = r.get(key);
    if (!v.is_array() || v.elem_type() != gguf::ValueType::STRING)
        fail(Errc::invalid_file, "{}: metadata '{}' should be an array of strings", r.path(), key);
    return v;
}

const gguf::Value* number_array(const gguf::Reader& r, const char* key, size_t n_tokens, bool integer) {
    const gguf::Value* v = r.find(key);
    if (!v) return nullptr;
    const bool ok = v->is_array() && gguf::value_type_size(v->elem_type()) > 0 &&
                    v->elem_type() != gguf::ValueType::BOOL &&
                    (!integer || (v->elem_type() != gguf::ValueType::FLOAT32 &&
                                  v->elem_type() != gguf::ValueType::FLOAT64));
    if (!ok)
        fail(Errc::invalid_file, "{}: metadata '{}' should be an array of {}", r.path(), key,
             integer ? "integers" : "numbers");
    if (v->size() < n_tokens)
        fail(Errc::invalid_file, "{}: metadata '{}' has {} entries for {} tokens", r.path(), key, v->size(),
             n_tokens);
    return v;
}

}  // namespace

const char* token_type_name(TokenType t) {
    switch (t) {
        case TokenType::undefined:
            return "undefined";
        case TokenType::normal:
            return "normal";
        case TokenType::unknown:
            return "unknown";
        case TokenType::control:
            return "control";
        case TokenType::user_defined:
            return "user_defined";
        case TokenType::unused:
            return "unused";
        case TokenType::byte:
            return "byte";
    }
    return "?";
}

Vocab Vocab::from_gguf(const gguf::Reader& r) {
    Vocab v;
    if (!r.has(kModel)) fail(Errc::invalid_file, "{}: has no tokenizer ('{}' is missing)", r.path(), kModel);
    v.model = r.get_string(kModel);
    if (v.model != "llama" && v.model != "gpt2")
        fail(Errc::unsupported,
             "{}: tokenizer model '{}' is not supported (kinglet reads 'llama' and 'gpt2')", r.path(),
             v.model);
    v.pre = r.get_string(kPre, "");

    const gguf::Value& toks = string_array(r, kTokens);
    const size_t n = toks.size();
    if (n == 0) fail(Errc::invalid_file, "{}: metadata '{}' is empty", r.path(), kTokens);
    if (n > static_cast<size_t>(INT32_MAX)) fail(Errc::invalid_file, "{}: too many tokens ({})", r.path(), n);
    v.tokens = TokenTexts(toks.strings());
    for (size_t i = 0; i < n; ++i) {
        // llama.cpp renames empty pieces so that every piece stays addressable by its text.
        if (v.tokens[i].empty()) v.tokens.set(i, fmt::format("[EMPTY_{}]", i));
    }

    v.scores.assign(n, 0.0f);
    if (const gguf::Value* s = number_array(r, kScores, n, false))
        for (size_t i = 0; i < n; ++i) v.scores[i] = static_cast<float>(s->number_at(i));

    v.types.assign(n, TokenType::normal);
    if (const gguf::Value* t = number_array(r, kTypes, n, true)) {
        for (size_t i = 0; i < n; ++i) {
            int64_t x = t->int_at(i);
            v.types[i] = (x >= 0 && x <= 6) ? static_cast<TokenType>(x) : TokenType::undefined;
        }
    }

    if (r.has(kMerges)) {
        v.merges = string_array(r, kMerges).strings();
    } else if (v.model == "gpt2") {
        fail(Errc::invalid_file, "{}: a 'gpt2' tokenizer needs '{}'", r.path(), kMerges);
    }

    // llama.cpp's defaults, then the file's keys on top.
    if (v.model == "llama") {
        v.bos = 1, v.eos = 2, v.unk = 0;
        v.add_bos = true;
        v.add_space_prefix = true;
    } else {
        v.add_bos = pre_tokenizer_adds_bos(v.pre);
        v.add_space_prefix = false;
    }
    for (const auto& [key, field] : kSpecialKeys) {
        int32_t& id = v.*field;
        if (id >= static_cast<int64_t>(n)) id = -1;
        if (!r.has(key)) continue;
        int64_t x = r.get_int(key);
        if (x < 0 || x >= static_cast<int64_t>(n)) {
            log::warn("{}: metadata '{}' = {} is outside the vocabulary of {} tokens; ignored", r.path(), key,
                      x, n);
            continue;
        }
        id = static_cast<int32_t>(x);
    }
    v.add_bos = r.get_bool(kAddBos, v.add_bos);
    v.add_eos = r.get_bool(kAddEos, v.add_eos);
    v.add_space_prefix = r.get_bool(kAddSpace, v.add_space_prefix);
    v.chat_template = r.get_string(kChatTemplate, "");
    v.validate(r.path());
    return v;
}

void Vocab::to_gguf(gguf::Writer& w) const {
    using gguf::Value;
    using gguf::ValueType;
    w.set(kModel, Value::string(model));
    if (!pre.empty()) w.set(kPre, Value::string(pre));
    w.set(kTokens, Value::array_strings(tokens.strings()));
    bool any_score = false;
    for (float s : scores) any_score = any_score || s != 0.0f;
    if (model == "llama" || any_score) w.set(kScores, Value::array_of(ValueType::FLOAT32, scores));
    std::vector<int32_t> t(types.size());
    for (size_t i = 0; i < types.size(); ++i) t[i] = static_cast<int32_t>(types[i]);
    w.set(kTypes, Value::array_of(ValueType::INT32, t));
    if (!merges.empty()) w.set(kMerges, Value::array_strings(merges));
    for (const auto& [key, field] : kSpecialKeys) {
        if (this->*field >= 0) w.set(key, Value::u32(static_cast<uint32_t>(this->*field)));
    }
    w.set(kAddBos, Value::boolean(add_bos));
    w.set(kAddEos, Value::boolean(add_eos));
    w.set(kAddSpace, Value::boolean(add_space_prefix));
    if (!chat_template.empty()) w.set(kChatTemplate, Value::string(chat_template));
}

void Vocab::pad_to(int32_t n) {
    for (int32_t i = n_tokens(); i < n; ++i) {
        tokens.push_back(fmt::format("[PAD{}]", i));
        scores.push_back(-1000.0f);
        types.push_back(TokenType::unused);
    }
}

void Vocab::validate(std::string_view source) const {
    if (model != "llama" && model != "gpt2")
        fail(Errc::unsupported,
             "{}: tokenizer model '{}' is not supported (kinglet reads 'llama' and 'gpt2')", source, model);
    if (tokens.empty()) fail(Errc::invalid_file, "{}: the vocabulary has no tokens", source);
    if (scores.size() != tokens.size() || types.size() != tokens.size())
        fail(Errc::invalid_file, "{}: {} tokens but {} scores and {} token types", source, tokens.size(),
             scores.size(), types.size());
    const int32_t n = n_tokens();
    const std::pair<const char*, int32_t> ids[] = {{"BOS", bos}, {"EOS", eos}, {"EOT", eot},
                                                   {"EOM", eom}, {"UNK", unk}, {"PAD", pad}};
    for (const auto& [name, id] : ids) {
        if (id < -1 || id >= n)
            fail(Errc::invalid_file, "{}: {} token id {} is outside the vocabulary of {} tokens", source,
                 name, id, n);
    }
    if (add_bos && bos < 0)
        fail(Errc::invalid_file, "{}: add_bos_token is true but there is no BOS token", source);
    if (add_eos && eos < 0)
        fail(Errc::invalid_file, "{}: add_eos_token is true but there is no EOS token", source);
}

}  // namespace kinglet
