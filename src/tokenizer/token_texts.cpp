#include "tokenizer/token_texts.h"

#include <limits>

#include "core/error.h"

namespace kinglet {

TokenTexts::TokenTexts(std::initializer_list<std::string_view> texts) {
    spans_.reserve(texts.size());
    for (std::string_view t : texts) push_back(t);
}

TokenTexts::TokenTexts(const std::vector<std::string>& texts) {
    size_t bytes = 0;
    for (const auto& t : texts) bytes += t.size();
    text_.reserve(bytes);
    spans_.reserve(texts.size());
    for (const auto& t : texts) push_back(t);
}

TokenTexts::Span TokenTexts::append(std::string_view text) {
    if (text_.size() + text.size() > std::numeric_limits<uint32_t>::max())
        fail(Errc::invalid_argument, "the vocabulary's token texts exceed 4 GiB");
    const Span s{uint32_t(text_.size()), uint32_t(text.size())};
    text_.append(text);
    return s;
}

void TokenTexts::push_back(std::string_view text) { spans_.push_back(append(text)); }

void TokenTexts::set(size_t i, std::string_view text) {
    if (text.size() <= spans_[i].length) {  // fits where the old text was
        text_.replace(spans_[i].offset, text.size(), text);
        spans_[i].length = uint32_t(text.size());
        return;
    }
    spans_[i] = append(text);
}

void TokenTexts::assign_empty(size_t n) {
    text_.clear();
    spans_.assign(n, Span{0, 0});
}

int64_t TokenTexts::find(std::string_view text) const {
    for (size_t i = 0; i < size(); ++i)
        if ((*this)[i] == text) return int64_t(i);
    return -1;
}

void TokenTexts::shrink_to_fit() {
    size_t bytes = 0;
    for (const Span& s : spans_) bytes += s.length;
    std::string text;
    text.reserve(bytes);
    for (Span& s : spans_) {
        const uint32_t at = uint32_t(text.size());
        text.append(text_, s.offset, s.length);
        s.offset = at;
    }
    text_ = std::move(text);
    spans_.shrink_to_fit();
}

std::vector<std::string> TokenTexts::strings() const {
    std::vector<std::string> out;
    out.reserve(size());
    for (size_t i = 0; i < size(); ++i) out.emplace_back((*this)[i]);
    return out;
}

bool operator==(const TokenTexts& a, const TokenTexts& b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (a[i] != b[i]) return false;
    return true;
}

}  // namespace kinglet
