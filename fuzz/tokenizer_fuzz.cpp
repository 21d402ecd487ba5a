// Fuzzes the tokenizers. The first byte picks what the rest is:
//   0-9   text for encode() on a small built-in vocabulary (byte % 5: SentencePiece-style, or byte-level
//         BPE with the llama-bpe, qwen2, smollm or gpt-2 pre-tokenizer; byte >= 5: special tokens parsed).
//         Ids must be in range, decode must work, every stream chunk must be valid UTF-8, and a
//         SentencePiece-style round trip of text without U+2581 or added tokens must be exact.
//   10+   a GGUF file for Vocab::from_gguf (hostile metadata); a vocabulary that loads must tokenize.
// Anything else than kinglet::Error escaping, or a crash, is a bug.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "core/error.h"
#include "core/log.h"
#include "gguf/reader.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace {

using namespace kinglet;

void add(Vocab& v, std::string t, float score, TokenType type) {
    v.tokens.push_back(std::move(t));
    v.scores.push_back(score);
    v.types.push_back(type);
}

Vocab small_spm() {
    Vocab v;
    v.model = "llama";
    v.pre = "default";
    add(v, "<unk>", 0, TokenType::unknown);
    add(v, "<s>", 0, TokenType::control);
    add(v, "</s>", 0, TokenType::control);
    for (int b = 0; b < 256; ++b) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "<0x%02X>", b);
        add(v, buf, 0, TokenType::byte);
    }
    const std::string sp = "\xE2\x96\x81";
    float s = -1;
    for (std::string p :
         {sp, std::string("e"), std::string("t"), std::string("h"), std::string("a"), sp + "t",
          std::string("th"), std::string("he"), sp + "th", std::string("the"), sp + "the",
          std::string("\xC3\xA9"), sp + sp, sp + sp + sp + sp, std::string("\xE4\xB8\xAD")})
        add(v, p, s--, TokenType::normal);
    add(v, "<|im_end|>", 0, TokenType::control);
    add(v, "<us>", -1000, TokenType::user_defined);
    add(v, sp + sp + "x", -1000, TokenType::user_defined);
    v.unk = 0, v.bos = 1, v.eos = 2;
    v.add_bos = true;
    v.add_space_prefix = true;
    return v;
}

Vocab small_bpe(const char* pre) {
    Vocab v;
    v.model = "gpt2";
    v.pre = pre;
    for (int b = 0; b < 256; ++b) add(v, unicode::byte_to_symbol()[b], 0, TokenType::normal);
    const std::string G = "\xC4\xA0";  // the byte-level space
    for (std::string p : {G + "t", std::string("th"), std::string("he"), G + "th", std::string("the"),
                          G + "the", std::string("12"), std::string("123"), G + G, std::string("\xC3\xA9")})
        add(v, p, 0, TokenType::normal);
    v.merges = {G + " t",   "t h", "h e",  G + "t h",   "th e",
                G + "th e", "1 2", "12 3", G + " " + G, "\xC3 \xA9"};
    add(v, "<|endoftext|>", 0, TokenType::control);
    add(v, "<think>", 0, TokenType::user_defined);
    v.bos = v.eos = 266;
    v.add_bos = std::string(pre) == "llama-bpe";
    return v;
}

const Tokenizer& tokenizer(int which) {
    static const std::unique_ptr<Tokenizer> toks[5] = {
        std::make_unique<Tokenizer>(small_spm()),        std::make_unique<Tokenizer>(small_bpe("llama-bpe")),
        std::make_unique<Tokenizer>(small_bpe("qwen2")), std::make_unique<Tokenizer>(small_bpe("smollm")),
        std::make_unique<Tokenizer>(small_bpe("gpt-2")),
    };
    return *toks[which];
}

void exercise(const Tokenizer& tok, std::string_view text, bool special) {
    const auto ids = tok.encode(text, true, special);
    for (int32_t id : ids)
        if (id < 0 || id >= tok.n_vocab()) std::abort();
    const std::string decoded = tok.decode(ids);
    StreamDetokenizer stream(tok);
    std::string streamed;
    for (int32_t id : ids) {
        std::string chunk = stream.push(id);
        if (!unicode::is_valid_utf8(chunk)) std::abort();
        streamed += chunk;
        (void)tok.is_eog(id);
    }
    streamed += stream.finish();
    if (streamed != unicode::sanitize_utf8(tok.decode(ids, {.strip_space_prefix = false}))) std::abort();
    (void)decoded;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    kinglet::log::set_level(kinglet::log::Level::error);
    const uint8_t mode = data[0];
    const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
    try {
        if (mode < 10) {
            const Tokenizer& tok = tokenizer(mode % 5);
            const bool special = mode >= 5;
            exercise(tok, rest, special);
            // SentencePiece-style encoding keeps every byte: without U+2581 and added-token text the
            // round trip is exact.
            if (mode % 5 == 0 && rest.find("\xE2\x96\x81") == std::string_view::npos &&
                rest.find("<us>") == std::string_view::npos &&
                (!special ||
                 (rest.find("<s>") == std::string_view::npos && rest.find("</s>") == std::string_view::npos &&
                  rest.find("<unk>") == std::string_view::npos &&
                  rest.find("<|im_end|>") == std::string_view::npos))) {
                if (tok.decode(tok.encode(rest, false, special)) != rest) std::abort();
            }
        } else {
            auto r = gguf::Reader::from_memory(rest.data(), rest.size(), "fuzz.gguf");
            const Tokenizer tok(Vocab::from_gguf(*r));
            exercise(tok, "Hello world <s> \xE4\xB8\xAD\xE6\x96\x87 123 \xF0\x9F\x98\x80 it's", false);
            exercise(tok, "<|im_end|>  \n\t x", true);
            for (int32_t id = 0; id < tok.n_vocab() && id < 64; ++id) (void)tok.token_to_piece(id);
        }
    } catch (const kinglet::Error&) {
    }
    return 0;
}
