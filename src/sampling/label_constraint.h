// Classification with declared labels: generation restricted to one of a set of token sequences, and
// the confidence signals computed from each label's log-probability.
//
// LabelConstraint is a trie over the labels' token sequences. apply() leaves only the tokens that
// continue some label from the current node; accept() walks down; complete() once a whole label has
// been produced and nothing longer is possible. When one label's sequence is a prefix of another's,
// the shorter one ends by the end token given at construction (EOS), which is then also allowed.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sampling/sampler.h"

namespace kinglet {

class LabelConstraint : public Constraint {
public:
    // Throws Error(invalid_argument) for an empty set, an empty sequence, a duplicate sequence, or a
    // label that is a prefix of another when end_token < 0.
    explicit LabelConstraint(const std::vector<std::vector<int32_t>>& labels, int32_t end_token = -1);

    void apply(float* logits, int32_t n_vocab) const override;
    void accept(int32_t token) override;
    bool complete() const override;

    // The label produced so far, or -1 when no label is complete (or a token left the trie).
    int matched() const;
    // Tokens allowed next (sorted); empty once complete.
    std::vector<int32_t> allowed() const;

private:
    struct Node {
        std::map<int32_t, int> next;  // token -> node index
        int label = -1;               // a label ends here
    };
    std::vector<Node> nodes_;
    int32_t end_token_;
    int cur_ = 0;       // -1: left the trie
    bool ended_ = false;
};

// Confidence signals over a label set, from each label's per-token log-probabilities given the prompt
// (teacher-forced: token i scored after the prompt and the label's tokens before i).
struct LabelScores {
    std::vector<double> logprob;  // per label: sum of its token log-probabilities
    std::vector<double> prob;     // per label: softmax of logprob over the set (sums to 1)
    int best = -1;                // argmax of prob (the first on ties)
    double margin = 0;            // prob[best] - second-highest prob (prob[best] with one label)
    double mean_token_logprob = 0, min_token_logprob = 0;  // over the best label's tokens
};
LabelScores label_scores(const std::vector<std::vector<float>>& token_logprobs);

}  // namespace kinglet
