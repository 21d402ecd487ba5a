// Classification with a local model and declared labels: the confidence signals the router uses,
// computed exactly.
//
// Each label becomes a token sequence: the label text as it follows the prompt after one space
// (encode(label) for SentencePiece vocabularies with a dummy prefix, encode(" " + label) otherwise).
// When one label's sequence is a prefix of another's, every sequence gets EOS appended so the set is
// prefix-free. For a prompt, one request per label is submitted together to the Engine, each
// constrained (LabelConstraint) to exactly that label: because the Engine reports each token's
// log-probability from the raw, unconstrained logits, this is teacher forcing — the sum is
// log P(label | prompt) — and the prompt's KV is shared through the prefix cache. A further request
// constrained to the whole label set with greedy decoding gives what a constrained server would
// answer. The prediction is the label with the highest probability normalised over the set.
#pragma once
#include <string>
#include <vector>

#include "runtime/engine.h"
#include "sampling/label_constraint.h"

namespace kinglet::eval {

struct LabelResult {
    LabelScores scores;
    std::vector<std::vector<float>> token_logprobs;  // per label
    int predicted = -1;                              // scores.best
    int generated = -1;                              // label that constrained greedy generation produced
    int prompt_tokens = 0;
    int completion_tokens = 0;                       // of the predicted label
    double latency_ms = 0;
};

class LocalClassifier {
public:
    // Throws Error(invalid_argument) for an empty label list or duplicate labels.
    LocalClassifier(Engine& engine, std::vector<std::string> labels);

    LabelResult classify(const std::string& prompt_text, bool add_bos = true) const;

    const std::vector<std::string>& labels() const { return labels_; }
    const std::vector<std::vector<int32_t>>& label_tokens() const { return tokens_; }

private:
    Engine& engine_;
    std::vector<std::string> labels_;
    std::vector<std::vector<int32_t>> tokens_;
};

}  // namespace kinglet::eval
