// Text <-> token ids for a GGUF vocabulary, with llama.cpp's behaviour:
//  - encode(): added tokens are cut out of the text first (leftmost-longest match, as Hugging Face does):
//    user_defined tokens always, control and unknown tokens only with parse_special. The text between
//    them goes through SentencePiece-style merging ("llama") or pre-tokenizer + byte-level BPE ("gpt2").
//    With add_bos, BOS (and EOS) are added when the vocabulary's add_bos (add_eos) flag says so.
//  - token_to_piece(): the bytes of one token (SentencePiece U+2581 -> space and <0xNN> -> that byte;
//    byte-level symbols -> bytes; added tokens -> their text, with U+2581 -> space in SentencePiece
//    vocabularies; unused tokens -> nothing).
//  - decode(): the inverse of encode(): pieces concatenated, and the dummy-prefix space the vocabulary
//    adds is removed from the first token (llama.cpp's llama_detokenize). Text generated as a
//    continuation of a prompt must keep that space: use StreamDetokenizer, or strip_space_prefix=false.
// Invalid UTF-8 input: "llama" vocabularies encode the stray bytes with byte fallback (lossless);
// "gpt2" vocabularies see each invalid sequence as U+FFFD (their regexes need valid text).
// A Tokenizer is immutable after construction and safe to use from many threads; copies share state.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/vocab.h"

namespace kinglet {

struct DecodeOptions {
    bool render_special = true;      // control and unknown tokens appear as their text
    bool remove_bos_eos = false;     // drop the BOS / EOS that encode(add_bos=true) adds
    bool strip_space_prefix = true;  // drop the first token's dummy-prefix space (add_space_prefix vocabs)
};

class Tokenizer {
  public:
    // Throws Error(invalid_file) for an inconsistent vocabulary (duplicate pieces, bad ids) and
    // Error(unsupported) for an unknown pre-tokenizer name.
    explicit Tokenizer(Vocab v);

    std::vector<int32_t> encode(std::string_view text, bool add_bos, bool parse_special) const;

    // Throws Error(invalid_argument) for an id outside the vocabulary.
    std::string token_to_piece(int32_t id) const { return token_to_piece(id, true); }
    std::string token_to_piece(int32_t id, bool render_special) const;
    std::string decode(const std::vector<int32_t>& ids) const { return decode(ids, DecodeOptions{}); }
    std::string decode(const std::vector<int32_t>& ids, const DecodeOptions& opt) const;

    // End of generation: EOS, EOT, EOM and the tokens llama.cpp recognises by their text
    // (<|eot_id|>, <|im_end|>, <end_of_turn>, <|endoftext|>, FIM pad/repo/file-separator, ...).
    bool is_eog(int32_t id) const;
    const std::vector<int32_t>& eog_ids() const;
    // The id of the token whose piece is exactly `text`, or -1.
    int32_t find_token(std::string_view text) const;
    // The type the tokenizer uses: the vocabulary's, except that end-of-generation tokens are
    // control tokens (as llama.cpp forces them).
    TokenType token_type(int32_t id) const;

    // The vocabulary as loaded, except its BPE merges (the encoder holds them in its own form).
    const Vocab& vocab() const;
    int32_t n_vocab() const;

    struct Impl;

  private:
    std::shared_ptr<const Impl> impl_;
};

// Turns generated ids into text as they arrive without ever emitting a broken UTF-8 sequence: bytes of
// an incomplete multi-byte character are held until the character completes; bytes that can never form
// a valid character are emitted as U+FFFD (one per maximal invalid subpart). finish() flushes what is
// held (an incomplete character becomes U+FFFD) and resets the stream. Each token's piece is taken in
// full (no dummy-prefix stripping): the stream continues text that came before it.
class StreamDetokenizer {
  public:
    explicit StreamDetokenizer(const Tokenizer& tok, bool render_special = true);
    std::string push(int32_t id);
    std::string finish();

  private:
    std::string drain(bool at_end);
    Tokenizer tok_;  // shares the caller's state
    bool render_special_;
    std::string pending_;
};

}  // namespace kinglet
