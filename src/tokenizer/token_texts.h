// The texts of a vocabulary's tokens, stored back to back in one buffer.
//
// A std::vector<std::string> costs 32 bytes per token before any text (and a heap block for every
// text longer than 15 bytes): 4.1 MB for Llama 3's 128k tokens, 1.6 MB for a 49k vocabulary — for the
// smallest models, a tenth of everything the process holds besides weights and KV cache. Here a token
// costs 8 bytes plus its text. Texts are read as string_views, valid until the next change.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace kinglet {

class TokenTexts {
public:
    TokenTexts() = default;
    TokenTexts(std::initializer_list<std::string_view> texts);
    explicit TokenTexts(const std::vector<std::string>& texts);

    size_t size() const { return spans_.size(); }
    bool empty() const { return spans_.empty(); }
    std::string_view operator[](size_t i) const { return {text_.data() + spans_[i].offset, spans_[i].length}; }

    void push_back(std::string_view text);
    // Replaces token i's text (the old bytes stay in the buffer until shrink_to_fit()).
    void set(size_t i, std::string_view text);
    // n tokens, all empty.
    void assign_empty(size_t n);
    // The first token with this text, or -1.
    int64_t find(std::string_view text) const;
    // Drops replaced texts and spare capacity.
    void shrink_to_fit();
    std::vector<std::string> strings() const;

    friend bool operator==(const TokenTexts& a, const TokenTexts& b);

private:
    struct Span {
        uint32_t offset, length;
    };
    Span append(std::string_view text);

    std::string text_;
    std::vector<Span> spans_;
};

}  // namespace kinglet
