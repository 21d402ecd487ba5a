#include "tokenizer/spm.h"

#include <queue>

#include "core/error.h"
#include "tokenizer/unicode.h"

namespace kinglet::detail {

namespace {

struct Symbol {
    int32_t prev, next;
    size_t start, len;  // a merged symbol is a contiguous stretch of the text
};

struct Bigram {
    int32_t left, right;
    float score;
    size_t len;
};

struct Lower {  // the queue's top is the highest score, then the leftmost pair
    bool operator()(const Bigram& a, const Bigram& b) const {
        return a.score < b.score || (a.score == b.score && a.left > b.left);
    }
};

}  // namespace

void SpmEncoder::encode(std::string_view text, std::vector<int32_t>& out) const {
    if (text.empty()) return;
    std::vector<Symbol> sym;
    sym.reserve(text.size());
    for (size_t pos = 0; pos < text.size();) {
        // A valid character, or an invalid sequence's maximal subpart, so that a stray lead byte never
        // swallows the start of the next character (llama.cpp's split by lead byte alone can cut an
        // escaped space in two; on valid UTF-8 both agree).
        const size_t len = unicode::decode_utf8(text, pos).len;
        const auto i = static_cast<int32_t>(sym.size());
        sym.push_back({i - 1, pos + len == text.size() ? -1 : i + 1, pos, len});
        pos += len;
    }

    std::priority_queue<Bigram, std::vector<Bigram>, Lower> queue;
    auto try_add = [&](int32_t l, int32_t r) {
        if (l < 0 || r < 0) return;
        const size_t len = sym[l].len + sym[r].len;
        const int32_t id = index_.find(text.substr(sym[l].start, len));
        if (id < 0) return;
        queue.push({l, r, scores_[id], len});
    };
    for (int32_t i = 1; i < static_cast<int32_t>(sym.size()); ++i) try_add(i - 1, i);

    while (!queue.empty()) {
        const Bigram b = queue.top();
        queue.pop();
        Symbol& l = sym[b.left];
        Symbol& r = sym[b.right];
        // Skip pairs whose symbols have changed since they were queued.
        if (l.len == 0 || r.len == 0 || l.len + r.len != b.len) continue;
        l.len += r.len;
        r.len = 0;
        l.next = r.next;
        if (r.next >= 0) sym[r.next].prev = b.left;
        try_add(l.prev, b.left);
        try_add(b.left, l.next);
    }

    for (int32_t i = 0; i != -1; i = sym[i].next) {
        const std::string_view piece = text.substr(sym[i].start, sym[i].len);
        const int32_t id = index_.find(piece);
        if (id >= 0) {
            out.push_back(id);
            continue;
        }
        for (char c : piece) {
            const int32_t bt = byte_tokens_[static_cast<uint8_t>(c)];
            if (bt < 0)
                fail(Errc::unsupported, "the vocabulary has no token for byte 0x{:02X} (no <0x{:02X}> piece)",
                     static_cast<uint8_t>(c), static_cast<uint8_t>(c));
            out.push_back(bt);
        }
    }
}

}  // namespace kinglet::detail
