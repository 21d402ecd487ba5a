// The sampler chain: logit bias → repetition / frequency / presence penalties → constraint mask →
// greedy, or top-k → top-p → min-p → temperature → a seeded draw. Reproducible: the same seed, logits
// and history give the same token on every machine.
#pragma once
#include <cstdint>
#include <memory>
#include <random>
#include <unordered_map>
#include <utility>
#include <vector>

namespace kinglet {

struct SamplingParams {
    float temperature = 0.8f;      // <= 0: greedy (argmax, first max wins)
    int top_k = 40;                // <= 0: off
    float top_p = 0.95f;           // >= 1: off
    float min_p = 0.05f;           // <= 0: off
    float repeat_penalty = 1.0f;   // 1: off (llama.cpp semantics: divide positive logits, multiply negative)
    int repeat_last_n = 64;        // window of recent tokens the penalties look at; -1 = whole history
    float frequency_penalty = 0.0f;  // OpenAI semantics: minus count * penalty
    float presence_penalty = 0.0f;   // OpenAI semantics: minus penalty if present
    uint64_t seed = 0xC0FFEE;
    std::unordered_map<int32_t, float> logit_bias;  // added to the raw logits

    static SamplingParams greedy() {
        SamplingParams p;
        p.temperature = 0;
        return p;
    }
};

// Restricts which tokens may come next (label sets, grammars). apply() sets disallowed logits to
// -inf; accept() advances the constraint's state with the chosen token.
class Constraint {
public:
    virtual ~Constraint() = default;
    virtual void apply(float* logits, int32_t n_vocab) const = 0;
    virtual void accept(int32_t token) = 0;
    virtual bool complete() const = 0;  // no further token is allowed except end of generation
};

class Sampler {
public:
    Sampler(SamplingParams p, int32_t n_vocab);

    // Picks the next token from `logits` (n_vocab values, modified in place). `history` is every
    // token of the sequence so far (prompt and generated), which the penalties read.
    int32_t sample(float* logits, const std::vector<int32_t>& history, const Constraint* constraint = nullptr);

    const SamplingParams& params() const { return p_; }

private:
    void penalize(float* logits, const std::vector<int32_t>& history) const;
    double uniform();
    size_t draw(const float* w, size_t n, double total);
    void top_candidates(const float* logits, size_t k);
    static float top_p_binade(const float* w, size_t n, double mass);

    SamplingParams p_;
    int32_t n_vocab_;
    std::mt19937_64 rng_;
    std::vector<std::pair<float, int32_t>> cand_;
    std::vector<float> w_, w1_, lg_;  // scratch: weights, weights at temperature 1, candidate logits
};

// log-softmax of the raw logits at one id, and the k most likely ids with their log-probabilities
// (highest first, ties by lower id). Used for logprobs and confidence signals.
float log_prob(const float* logits, int32_t n_vocab, int32_t id);
std::vector<std::pair<int32_t, float>> top_log_probs(const float* logits, int32_t n_vocab, int k);
// The k largest raw logits (highest first, ties by lower id).
std::vector<std::pair<int32_t, float>> top_logits(const float* logits, int32_t n_vocab, int k);

}  // namespace kinglet
