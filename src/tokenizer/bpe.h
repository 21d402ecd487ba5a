// Byte-level BPE ("gpt2" GGUF vocabularies): the pre-tokenizer cuts the text into words, each word's
// bytes are spelled in GPT-2's byte alphabet, and merges apply lowest rank first (the leftmost pair
// wins among equal ranks), as Hugging Face's BPE model and llama.cpp do. With ignore_merges (Llama 3) a
// word that is itself a piece is emitted whole.
#pragma once
#include <cstdint>
#include <string_view>
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
    // (left id, right id) -> its best merge, by open addressing (16 bytes a slot, no node per merge).
    struct Slot {
        uint64_t key = kEmpty;
        Merge merge{};
    };
    static constexpr uint64_t kEmpty = ~uint64_t(0);  // ids are non-negative: no pair has this key
    static uint64_t pair_key(int32_t a, int32_t b) {
        return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
    }
    size_t slot_of(uint64_t key) const { return size_t((key * 0x9E3779B97F4A7C15ull) >> 20) & (merges_.size() - 1); }
    void encode_word(std::string_view word, std::vector<int32_t>& out) const;
    const Merge* find_merge(int32_t a, int32_t b) const {
        const uint64_t key = pair_key(a, b);
        for (size_t i = slot_of(key); merges_[i].key != kEmpty; i = (i + 1) & (merges_.size() - 1))
            if (merges_[i].key == key) return &merges_[i].merge;
        return nullptr;
    }

    const TokenIndex& index_;
    PreTokenizer pre_;
    std::vector<Slot> merges_;  // capacity a power of two, at most 3/4 full
    int32_t unk_;
};

}  // namespace kinglet::detail
