// Piece text -> token id, looked up with string_view (no allocation in the tokenizers' inner loops).
// Open addressing over the ids themselves: a slot holds a token id and the text is the vocabulary's
// own string, so the index costs 8 to 16 bytes per token instead of a copy of every piece in a
// node-based map (for a 150k-token vocabulary, about 1 MB instead of about 9).
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/token_texts.h"

namespace kinglet::detail {

struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

class TokenIndex {
  public:
    // `tokens` must outlive the index and not change while it is in use.
    explicit TokenIndex(const TokenTexts& tokens) : tokens_(&tokens) {
        size_t cap = 16;
        while (cap < 2 * tokens.size()) cap *= 2;
        slots_.assign(cap, -1);
    }
    TokenIndex(const TokenIndex&) = delete;
    TokenIndex& operator=(const TokenIndex&) = delete;

    // Adds token `id`; returns false if its text is already present (the caller reports the duplicate).
    bool add(int32_t id) {
        const std::string_view text = (*tokens_)[size_t(id)];
        size_t i = slot_of(text);
        for (; slots_[i] >= 0; i = (i + 1) & (slots_.size() - 1))
            if ((*tokens_)[size_t(slots_[i])] == text) return false;
        slots_[i] = id;
        return true;
    }
    int32_t find(std::string_view text) const {
        for (size_t i = slot_of(text); slots_[i] >= 0; i = (i + 1) & (slots_.size() - 1))
            if ((*tokens_)[size_t(slots_[i])] == text) return slots_[i];
        return -1;
    }

  private:
    size_t slot_of(std::string_view text) const { return StringHash{}(text) & (slots_.size() - 1); }

    const TokenTexts* tokens_;
    std::vector<int32_t> slots_;  // capacity a power of two, at least twice the tokens: probes stay short
};

}  // namespace kinglet::detail
