#include "sampling/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>

#include "core/error.h"

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

    // Candidates: every token that may come next, or the top_k of them. Only the parts of the chain
    // that need an order (top-k, top-p) sort, and top-p sorts no more of the vocabulary than it keeps
    // (a whole-vocabulary sort per token dominated batched decoding with OpenAI's defaults).
    cand_.clear();
    float mx = -std::numeric_limits<float>::infinity();
    for (int32_t i = 0; i < n_vocab_; ++i)
        if (logits[i] > -std::numeric_limits<float>::infinity()) {
            cand_.emplace_back(logits[i], i);
            mx = std::max(mx, logits[i]);
        }
    if (cand_.empty()) return 0;
    auto by_logit = [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); };
    size_t k = cand_.size();
    if (p_.top_k > 0 && size_t(p_.top_k) < k) {
        k = size_t(p_.top_k);
        std::partial_sort(cand_.begin(), cand_.begin() + k, cand_.end(), by_logit);
        cand_.resize(k);
    }

    if (p_.top_p < 1.0f || p_.min_p > 0.0f) {
        // Probabilities at temperature 1 over the candidates decide top-p / min-p (as llama.cpp's
        // chain does). min-p keeps p >= min_p * p_max, i.e. exp(l - mx) >= min_p: a filter.
        double sum = 0;
        for (const auto& c : cand_) sum += std::exp(double(c.first) - mx);
        if (p_.min_p > 0.0f) {
            const double floor_p = p_.min_p;
            std::erase_if(cand_, [&](const auto& c) { return std::exp(double(c.first) - mx) < floor_p; });
        }
        if (p_.top_p < 1.0f) {
            // The smallest prefix, in descending order, whose mass reaches top_p: sort a growing
            // prefix until it does. The min-p survivors always contain the most likely token.
            double cum = 0;
            size_t sorted = 0, keep = cand_.size();
            for (size_t want = 64;; want *= 4) {
                const size_t upto = std::min(want, cand_.size());
                std::partial_sort(cand_.begin() + sorted, cand_.begin() + upto, cand_.end(), by_logit);
                for (; sorted < upto; ++sorted) {
                    cum += std::exp(double(cand_[sorted].first) - mx) / sum;
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
    }

    // Temperature, then a draw over what is left (in the order it is in: the distribution, not the
    // order, is the contract; the same seed and logits still give the same token).
    // Weights in float (expf is several times cheaper than exp over a whole vocabulary; relative
    // weights need no more), summed in double.
    w_.resize(cand_.size());
    double total = 0;
    const float inv_t = 1.0f / p_.temperature;
    for (size_t i = 0; i < cand_.size(); ++i) total += w_[i] = std::exp((cand_[i].first - mx) * inv_t);
    double r = uniform() * total;
    for (size_t i = 0; i < cand_.size(); ++i) {
        r -= w_[i];
        if (r < 0) return cand_[i].second;
    }
    return cand_.back().second;
}

namespace {
double log_sum_exp(const float* logits, int32_t n) {
    float mx = -std::numeric_limits<float>::infinity();
    for (int32_t i = 0; i < n; ++i) mx = std::max(mx, logits[i]);
    double s = 0;
    for (int32_t i = 0; i < n; ++i) s += std::exp(double(logits[i]) - mx);
    return mx + std::log(s);
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
