// A batch for one forward pass: tokens from one or many sequences, each at its position, with the
// KV blocks each sequence owns. Prefill is many tokens of one sequence; decode is one token of many.
#pragma once
#include <cstdint>
#include <vector>

namespace kinglet {

struct BatchSeq {
    const int32_t* blocks = nullptr;  // the sequence's block table (KvCache block ids, in order)
    int32_t n_blocks = 0;
};

struct Batch {
    static constexpr uint8_t kNone = 0, kLogits = 1, kHidden = 2;
    std::vector<int32_t> token;
    std::vector<int32_t> pos;      // position of the token in its sequence
    std::vector<int32_t> seq;      // index into `seqs`
    std::vector<uint8_t> output;   // kLogits: logits and hidden state; kHidden: hidden state only
    std::vector<BatchSeq> seqs;

    int32_t size() const { return static_cast<int32_t>(token.size()); }
    int32_t n_logits() const {
        int32_t n = 0;
        for (uint8_t o : output) n += o == kLogits;
        return n;
    }
    void clear() { token.clear(); pos.clear(); seq.clear(); output.clear(); seqs.clear(); }
    void add(int32_t tok, int32_t p, int32_t s, bool logits) { add(tok, p, s, logits ? kLogits : kNone); }
    void add(int32_t tok, int32_t p, int32_t s, uint8_t out) {
        token.push_back(tok);
        pos.push_back(p);
        seq.push_back(s);
        output.push_back(out);
    }
};

}  // namespace kinglet
