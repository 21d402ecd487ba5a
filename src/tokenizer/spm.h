// SentencePiece-style merging over a scored vocabulary ("llama" GGUF vocabularies), as llama.cpp does it:
// the text (spaces already escaped to U+2581) starts as one symbol per UTF-8 character (or per invalid
// byte sequence); repeatedly the adjacent pair whose concatenation is a piece with the highest score is
// merged (the leftmost pair wins ties); symbols that are not pieces at the end are emitted as <0xNN>
// byte tokens.
#pragma once
#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "tokenizer/token_index.h"

namespace kinglet::detail {

class SpmEncoder {
  public:
    // byte_tokens[b] is the id that stands for byte b (-1 if the vocabulary has none).
    SpmEncoder(const TokenIndex& index, const std::vector<float>& scores,
               std::array<int32_t, 256> byte_tokens)
        : index_(index), scores_(scores), byte_tokens_(byte_tokens) {}

    // Appends the ids of `text`. Throws Error(unsupported) if a byte has no token to stand for it.
    void encode(std::string_view text, std::vector<int32_t>& out) const;

  private:
    const TokenIndex& index_;
    const std::vector<float>& scores_;
    std::array<int32_t, 256> byte_tokens_;
};

}  // namespace kinglet::detail
