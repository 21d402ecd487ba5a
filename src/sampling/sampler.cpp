#include "sampling/sampler.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <unordered_map>

#include "core/error.h"
#include "tensor/ops.h"

namespace kinglet {

Sampler::Sampler(SamplingParams p, int32_t n_vocab) : p_(std::move(p)), n_vocab_(n_vocab), rng_(p_.seed) {
    if (std::isnan(p_.temperature))
        fail(Errc::invalid_argument, "temperature must be a number");
    if (p_.top_p < 0) fail(Errc::invalid_argument, "top_p must be between 0 and 1 (is {})", p_.top_p);
    if (p_.min_p > 1) fail(Errc::invalid_argument, "min_p must be between 0 and 1 (is {})", p_.min_p);
    if (p_.repeat_penalty <= 0) fail(Errc::invalid_argument, "repeat_penalty must be positive (is {})", p_.repeat_penalty);
    for (const auto& [id, bias] : p_.logit_bias)
        if (id < 0 || id >= n_vocab_)
            fail(Errc::invalid_argument, "logit_bias names token {} outside the vocabulary (0..{})", id, n_vocab_ - 1);
}

double Sampler::uniform() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }

void Sampler::penalize(float* logits, const std::vector<int32_t>& history) const {
    if (p_.repeat_penalty == 1.0f && p_.frequency_penalty == 0.0f && p_.presence_penalty == 0.0f) return;
    size_t start = 0;
    if (p_.repeat_last_n >= 0 && history.size() > size_t(p_.repeat_last_n)) start = history.size() - p_.repeat_last_n;
    std::unordered_map<int32_t, int> count;
    for (size_t i = start; i < history.size(); ++i) count[history[i]]++;
    for (const auto& [id, c] : count) {
        if (id < 0 || id >= n_vocab_) continue;
        float& l = logits[id];
        if (p_.repeat_penalty != 1.0f) l = l > 0 ? l / p_.repeat_penalty : l * p_.repeat_penalty;
        l -= float(c) * p_.frequency_penalty + (c > 0 ? p_.presence_penalty : 0.0f);
    }
}

int32_t Sampler::sample(float* logits, const std::vector<int32_t>& history, const Constraint* constraint) {
    for (const auto& [id, bias] : p_.logit_bias) logits[id] += bias;
    penalize(logits, history);
    if (constraint) constraint->apply(logits, n_vocab_);

    if (p_.temperature <= 0) {
        int32_t best = 0;
        for (int32_t i = 1; i < n_vocab_; ++i)
            if (logits[i] > logits[best]) best = i;
        return best;
    }

    // The vocabulary-wide passes (max, weights and their sum) are vectorised kernels (tensor/ops.h) that
    // give the same bits in every kernel family; no pass sorts the vocabulary.
    const float mx = max_value(logits, n_vocab_);
    if (mx == -std::numeric_limits<float>::infinity()) return 0;  // nothing may come next
    if (mx == std::numeric_limits<float>::infinity()) return int32_t(std::find(logits, logits + n_vocab_, mx) - logits);
    const float inv_t = 1.0f / p_.temperature;
    const bool top_k = p_.top_k > 0 && p_.top_k < n_vocab_;
    if (!top_k && p_.top_p >= 1.0f && p_.min_p <= 0.0f) {
        // No filter: a draw over the whole vocabulary, weights indexed by token id.
        w_.resize(size_t(n_vocab_));
        const double total = exp_weights(logits, w_.data(), n_vocab_, mx, inv_t);
        return int32_t(draw(w_.data(), w_.size(), total));
    }

    // Candidates, each with its probability at temperature 1 (as llama.cpp's chain decides top-p and
    // min-p): the top_k of them, or every token that may come next.
    cand_.clear();
    double sum = 0;
    float sure_w = INFINITY;  // weights at least this are in the top-p set (without a sort)
    if (top_k) {
        top_candidates(logits, size_t(p_.top_k));
        lg_.resize(cand_.size());
        for (size_t i = 0; i < cand_.size(); ++i) lg_[i] = cand_[i].first;
        w1_.resize(cand_.size());
        sum = exp_weights(lg_.data(), w1_.data(), int64_t(lg_.size()), mx, 1.0f);
        for (size_t i = 0; i < cand_.size(); ++i) cand_[i].first = w1_[i];
    } else {
        w1_.resize(size_t(n_vocab_));
        sum = exp_weights(logits, w1_.data(), n_vocab_, mx, 1.0f);
        // min-p keeps p >= min_p * p_max, i.e. a weight >= min_p (the most likely token's is 1). top-p
        // needs the most likely tokens whose mass reaches top_p: every token of the binades (powers of
        // two) above the one where that mass is reached, and some of that binade's.
        float floor_w = p_.min_p > 0.0f ? p_.min_p : 0.0f;
        if (p_.top_p < 1.0f) {
            sure_w = top_p_binade(w1_.data(), w1_.size(), sum * p_.top_p);
            // The binade below as a margin for the rounding of the two summation orders.
            floor_w = std::max(floor_w, sure_w / 4);
        }
        for (int32_t i = 0; i < n_vocab_; ++i)
            if (w1_[size_t(i)] >= floor_w && w1_[size_t(i)] > 0.0f) cand_.emplace_back(w1_[size_t(i)], i);
    }
    // cand_ now holds (weight at temperature 1, id); higher weight is higher logit.
    auto by_weight = [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); };
    if (p_.min_p > 0.0f) std::erase_if(cand_, [&](const auto& c) { return c.first < p_.min_p; });
    if (p_.top_p < 1.0f && !cand_.empty()) {
        // The smallest prefix, in descending order, whose mass reaches top_p: sort a growing prefix
        // until it does. The min-p survivors always contain the most likely token.
        double cum = 0;
        size_t sorted = size_t(std::partition(cand_.begin(), cand_.end(), [&](const auto& c) { return c.first >= sure_w; }) -
                               cand_.begin());
        for (size_t i = 0; i < sorted; ++i) cum += double(cand_[i].first) / sum;
        size_t keep = cand_.size();
        for (size_t want = sorted + 64;; want *= 4) {
            const size_t upto = std::min(want, cand_.size());
            std::partial_sort(cand_.begin() + sorted, cand_.begin() + upto, cand_.end(), by_weight);
            for (; sorted < upto; ++sorted) {
                cum += double(cand_[sorted].first) / sum;
                if (cum >= p_.top_p) break;
            }
            if (sorted < upto) {
                keep = sorted + 1;
                break;
            }
            if (upto == cand_.size()) break;
        }
        cand_.resize(keep);
    }
    if (cand_.empty()) return int32_t(std::find(logits, logits + n_vocab_, mx) - logits);

    // Temperature, then a draw over what is left (in the order it is in: the distribution, not the
    // order, is the contract; the same seed and logits still give the same token).
    lg_.resize(cand_.size());
    for (size_t i = 0; i < cand_.size(); ++i) lg_[i] = logits[cand_[i].second];
    w_.resize(cand_.size());
    const double total = exp_weights(lg_.data(), w_.data(), int64_t(lg_.size()), mx, inv_t);
    return cand_[draw(w_.data(), w_.size(), total)].second;
}

// The top k finite logits as (logit, id), best first (ties by lower id): one pass with a heap of k
// whose front is the worst kept; most tokens are rejected by one comparison with it.
void Sampler::top_candidates(const float* logits, size_t k) {
    auto better = [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); };
    for (int32_t i = 0; i < n_vocab_; ++i) {
        const float l = logits[i];
        if (!(l > -std::numeric_limits<float>::infinity())) continue;  // -inf (disallowed) or NaN
        if (cand_.size() < k) {
            cand_.emplace_back(l, i);
            std::push_heap(cand_.begin(), cand_.end(), better);
        } else if (l > cand_.front().first) {  // equal logits: the kept one has the lower id
            std::pop_heap(cand_.begin(), cand_.end(), better);
            cand_.back() = {l, i};
            std::push_heap(cand_.begin(), cand_.end(), better);
        }
    }
    std::sort(cand_.begin(), cand_.end(), better);
}

// The least weight of the binades (powers of two) whose mass, from the top, is still below `mass`
// (every token at or above it is in the top-p set); 2^-126 times the binade's span when they hold all.
float Sampler::top_p_binade(const float* w, size_t n, double mass) {
    double by_exp[256] = {};
    for (size_t i = 0; i < n; ++i) {
        uint32_t u;
        std::memcpy(&u, &w[i], 4);
        by_exp[u >> 23 & 0xFF] += double(w[i]);  // weights are >= 0: the sign bit is clear
    }
    double cum = 0;
    for (int e = 255; e > 1; --e) {
        cum += by_exp[e];
        if (by_exp[e] > 0 && cum >= mass) return std::ldexp(1.0f, e + 1 - 127);  // the binade above's least
    }
    return std::ldexp(1.0f, 2 - 127);
}

// The index of a seeded draw from weights w (sum `total`, at least one positive). Weights are taken
// four at a time (their sum does not depend on the draw, so the running subtraction is one operation
// per four), then one at a time inside the group the draw falls in.
size_t Sampler::draw(const float* w, size_t n, double total) {
    double r = uniform() * total;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const double g = (double(w[i]) + double(w[i + 1])) + (double(w[i + 2]) + double(w[i + 3]));
        if (r < g) break;
        r -= g;
    }
    for (; i < n; ++i) {
        r -= w[i];
        if (r < 0) return i;
    }
    // Rounding left r just above the sum: the last token that has weight.
    for (size_t j = n; j-- > 0;)
        if (w[j] > 0) return j;
    return 0;
}

namespace {
double log_sum_exp(const float* logits, int32_t n) {
    const float mx = max_value(logits, n);
    if (!std::isfinite(mx)) return mx;
    thread_local std::vector<float> w;
    w.resize(size_t(n));
    return double(mx) + std::log(exp_weights(logits, w.data(), n, mx, 1.0f));
}
}  // namespace

float log_prob(const float* logits, int32_t n_vocab, int32_t id) {
    return static_cast<float>(double(logits[id]) - log_sum_exp(logits, n_vocab));
}

std::vector<std::pair<int32_t, float>> top_logits(const float* logits, int32_t n_vocab, int k) {
    std::vector<std::pair<int32_t, float>> v;
    if (k <= 0) return v;
    k = std::min(k, n_vocab);
    std::vector<int32_t> idx(n_vocab);
    for (int32_t i = 0; i < n_vocab; ++i) idx[i] = i;
    std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](int32_t a, int32_t b) {
        return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
    });
    for (int i = 0; i < k; ++i) v.emplace_back(idx[i], logits[idx[i]]);
    return v;
}

std::vector<std::pair<int32_t, float>> top_log_probs(const float* logits, int32_t n_vocab, int k) {
    auto v = top_logits(logits, n_vocab, k);
    const double lse = log_sum_exp(logits, n_vocab);
    for (auto& [id, l] : v) l = static_cast<float>(double(l) - lse);
    return v;
}

}  // namespace kinglet
