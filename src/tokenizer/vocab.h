// A tokenizer vocabulary in GGUF's conventions (the `tokenizer.ggml.*` keys llama.cpp writes and reads).
//
// Two models exist:
//  - "llama": SentencePiece-style. Pieces use U+2581 for spaces, `<0xNN>` byte pieces give byte fallback,
//    and `scores` decide merges (highest score first). `add_space_prefix` is SentencePiece's dummy prefix.
//  - "gpt2": byte-level BPE. Pieces are spelled in GPT-2's byte alphabet, `merges` ("a b", best first)
//    decide merges, and `pre` names the pre-tokenizer regexes (see tokenizer/pretokenizer.h).
// Added tokens are typed `control` (special: matched in text only when asked) or `user_defined`
// (always matched in text before the model runs, as llama.cpp and Hugging Face both do).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/token_texts.h"

namespace kinglet {

namespace gguf {
class Reader;
class Writer;
}  // namespace gguf

// GGUF stores token types as int32; one byte each in memory (a 150k-token vocabulary keeps two arrays).
enum class TokenType : uint8_t {
    undefined = 0,
    normal = 1,
    unknown = 2,
    control = 3,
    user_defined = 4,
    unused = 5,
    byte = 6,
};

struct Vocab {
    std::string model;  // "llama" | "gpt2"
    std::string pre;    // tokenizer.ggml.pre ("" when absent)
    TokenTexts tokens;
    std::vector<float> scores;     // one per token (zeros when the file has none)
    std::vector<TokenType> types;  // one per token (normal when the file has none)
    std::vector<std::string> merges;
    int32_t bos = -1, eos = -1, eot = -1, eom = -1, unk = -1, pad = -1;
    bool add_bos = false, add_eos = false;
    // SentencePiece's dummy prefix: a space before the text (and after every special token).
    // from_gguf() and from_hf_json() set it; llama.cpp's default is true for "llama", false for "gpt2".
    bool add_space_prefix = false;
    std::string chat_template;  // "" when absent

    // Reads every tokenizer.ggml.* key, applying llama.cpp's defaults for missing ones (for "llama":
    // BOS 1, EOS 2, UNK 0 when in range, add BOS, add space prefix; for "gpt2": add BOS only for the
    // Llama 3 pre-tokenizer). Throws Error(invalid_file) naming the file and key on bad data, and
    // Error(unsupported) for a tokenizer model other than "llama" and "gpt2".
    static Vocab from_gguf(const gguf::Reader& r);
    // Writes every tokenizer.ggml.* key this vocabulary has, plus tokenizer.chat_template.
    void to_gguf(gguf::Writer& w) const;
    // Converts a Hugging Face tokenizer.json (and tokenizer_config.json beside it, if present) the way
    // llama.cpp's converter would; see from_hf_json.cpp for the rules. Throws Error naming the file.
    static Vocab from_hf_json(const std::string& tokenizer_json_path);

    int32_t n_tokens() const { return static_cast<int32_t>(tokens.size()); }
    // Appends "[PAD<i>]" tokens of type unused up to n tokens (model files often have a few more
    // embedding rows than the tokenizer has tokens), as llama.cpp's converter does.
    void pad_to(int32_t n);
    // Checks the invariants the tokenizer relies on; `source` names the input in the message.
    void validate(std::string_view source) const;
};

const char* token_type_name(TokenType t);

}  // namespace kinglet
