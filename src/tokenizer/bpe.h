// Byte-level BPE ("gpt2" GGUF vocabularies): the pre-tokenizer cuts the text into words, each word's
// bytes are spelled in GPT-2's byte alphabet, and merges apply lowest rank first (the leftmost pair
// wins among equal ranks), as Hugging Face's BPE model and llama.cpp do. With ignore_merges (Llama 3) a
// word that is itself a piece is emitted whole.
#pragma once
#include <cstdint>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/pretokenizer.h"
#include "tokenizer/token_index.h"
#include "tokenizer/vocab.h"

namespace kinglet::detail {

class BpeEncoder {
  public:
    // Merges whose halves or result are not pieces are ignored (Hugging Face rejects such files).
    BpeEncoder(const Vocab& vocab, const TokenIndex& index);

    // Appends the ids of `text` (any bytes; invalid UTF-8 is read as U+FFFD).
    void encode(std::string_view text, std::vector<int32_t>& out) const;

    const PreTokenizer& pre_tokenizer() const { return pre_; }

  private:
    struct Merge {
        int32_t rank, result;
    };
    void encode_word(std::string_view word, std::vector<int32_t>& out) const;
    const Merge* find_merge(int32_t a, int32_t b) const {
        auto it =
            merges_.find((static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b));
        return it == merges_.end() ? nullptr : &it->second;
    }

    const TokenIndex& index_;
    PreTokenizer pre_;
    std::unordered_map<uint64_t, Merge> merges_;
    int32_t unk_;
};

}  // namespace kinglet::detail
