#include "tokenizer/special_matcher.h"

namespace kinglet::detail {

SpecialMatcher::SpecialMatcher() : id_{-1}, always_{false} {}

void SpecialMatcher::add(std::string_view text, int32_t id, bool always) {
    if (text.empty()) return;
    int32_t node = 0;
    for (char ch : text) {
        const auto c = static_cast<uint8_t>(ch);
        int32_t next = child(node, c);
        if (next < 0) {
            next = static_cast<int32_t>(id_.size());
            id_.push_back(-1);
            always_.push_back(false);
            edges_.emplace((static_cast<uint64_t>(node) << 8) | c, next);
        }
        node = next;
    }
    id_[node] = id;
    always_[node] = always;
    first_any_[static_cast<uint8_t>(text[0])] = true;
    if (always) first_always_[static_cast<uint8_t>(text[0])] = true;
    ++n_tokens_;
}

SpecialMatcher::Match SpecialMatcher::find(std::string_view text, size_t from, bool parse_special) const {
    const bool* first = parse_special ? first_any_ : first_always_;
    for (size_t start = from; start < text.size(); ++start) {
        if (!first[static_cast<uint8_t>(text[start])]) continue;
        Match best;
        int32_t node = 0;
        for (size_t i = start; i < text.size(); ++i) {
            node = child(node, static_cast<uint8_t>(text[i]));
            if (node < 0) break;
            if (id_[node] >= 0 && (parse_special || always_[node])) best = {start, i + 1 - start, id_[node]};
        }
        if (best.id >= 0) return best;
    }
    return {};
}

}  // namespace kinglet::detail
