#include "tokenizer/bpe.h"

#include <queue>

#include "core/error.h"
#include "tokenizer/unicode.h"

namespace kinglet::detail {

BpeEncoder::BpeEncoder(const Vocab& vocab, const TokenIndex& index)
    : index_(index), pre_(vocab.pre), unk_(vocab.unk) {
    size_t cap = 16;
    while (cap * 3 < vocab.merges.size() * 4) cap *= 2;
    merges_.assign(cap, Slot{});
    for (size_t rank = 0; rank < vocab.merges.size(); ++rank) {
        const std::string& m = vocab.merges[rank];
        // llama.cpp splits at the first space after the first character.
        const size_t sp = m.find(' ', 1);
        if (sp == std::string::npos) continue;
        const std::string_view a(m.data(), sp), b(m.data() + sp + 1, m.size() - sp - 1);
        const int32_t ia = index_.find(a), ib = index_.find(b);
        if (ia < 0 || ib < 0) continue;
        std::string joined;
        joined.reserve(a.size() + b.size());
        joined.append(a).append(b);
        const int32_t r = index_.find(joined);
        if (r < 0) continue;
        // The first (best) rank of a pair wins, as when Hugging Face builds its merge map.
        const uint64_t key = pair_key(ia, ib);
        size_t i = slot_of(key);
        while (merges_[i].key != kEmpty && merges_[i].key != key) i = (i + 1) & (merges_.size() - 1);
        if (merges_[i].key == kEmpty) merges_[i] = {key, Merge{static_cast<int32_t>(rank), r}};
    }
}

void BpeEncoder::encode(std::string_view text, std::vector<int32_t>& out) const {
    std::string clean = unicode::is_valid_utf8(text) ? std::string(text) : unicode::sanitize_utf8(text);
    if (pre_.nfc()) clean = unicode::nfc(clean);
    const auto& alphabet = unicode::byte_to_symbol();
    std::string word;
    for (std::string_view piece : pre_.split(clean)) {
        word.clear();
        for (char c : piece) word += alphabet[static_cast<uint8_t>(c)];
        encode_word(word, out);
    }
}

namespace {

struct Symbol {
    int32_t id;
    int32_t prev, next;
};

struct Candidate {
    int32_t rank, left, result;
};

struct Later {  // the queue's top is the lowest rank, then the leftmost pair
    bool operator()(const Candidate& a, const Candidate& b) const {
        return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
    }
};

}  // namespace

void BpeEncoder::encode_word(std::string_view word, std::vector<int32_t>& out) const {
    if (pre_.ignore_merges()) {
        const int32_t whole = index_.find(word);
        if (whole >= 0) {
            out.push_back(whole);
            return;
        }
    }
    std::vector<Symbol> sym;
    sym.reserve(word.size());
    for (size_t pos = 0; pos < word.size();) {
        const size_t len =
            std::min(unicode::utf8_len_from_lead(static_cast<uint8_t>(word[pos])), word.size() - pos);
        int32_t id = index_.find(word.substr(pos, len));
        if (id < 0) {
            if (unk_ < 0)
                fail(Errc::unsupported,
                     "the vocabulary has no piece for byte symbol '{}' and no unknown token",
                     word.substr(pos, len));
            id = unk_;
        }
        const auto i = static_cast<int32_t>(sym.size());
        sym.push_back({id, i - 1, pos + len == word.size() ? -1 : i + 1});
        pos += len;
    }

    std::priority_queue<Candidate, std::vector<Candidate>, Later> queue;
    auto try_add = [&](int32_t l) {
        if (l < 0 || sym[l].next < 0) return;
        if (const Merge* m = find_merge(sym[l].id, sym[sym[l].next].id)) queue.push({m->rank, l, m->result});
    };
    for (int32_t i = 0; i + 1 < static_cast<int32_t>(sym.size()); ++i) try_add(i);

    while (!queue.empty()) {
        const Candidate c = queue.top();
        queue.pop();
        Symbol& l = sym[c.left];
        if (l.id < 0 || l.next < 0) continue;
        // A queued pair is stale if its symbols changed; it still applies if the current pair merges
        // into the same piece (Hugging Face checks the result the same way).
        const Merge* m = find_merge(l.id, sym[l.next].id);
        if (!m || m->result != c.result) continue;
        Symbol& r = sym[l.next];
        l.id = c.result;
        r.id = -1;
        l.next = r.next;
        if (r.next >= 0) sym[r.next].prev = c.left;
        try_add(l.prev);
        try_add(c.left);
    }
    for (int32_t i = 0; i != -1; i = sym[i].next) out.push_back(sym[i].id);
}

}  // namespace kinglet::detail
