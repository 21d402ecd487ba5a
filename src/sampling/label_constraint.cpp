#include "sampling/label_constraint.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"

namespace kinglet {

LabelConstraint::LabelConstraint(const std::vector<std::vector<int32_t>>& labels, int32_t end_token)
    : nodes_(1), end_token_(end_token) {
    if (labels.empty()) fail(Errc::invalid_argument, "label constraint: no labels");
    for (size_t l = 0; l < labels.size(); ++l) {
        if (labels[l].empty()) fail(Errc::invalid_argument, "label constraint: label {} has no tokens", l);
        int n = 0;
        for (int32_t t : labels[l]) {
            if (t < 0) fail(Errc::invalid_argument, "label constraint: label {} has token id {}", l, t);
            auto it = nodes_[size_t(n)].next.find(t);
            if (it == nodes_[size_t(n)].next.end()) {
                nodes_.emplace_back();
                it = nodes_[size_t(n)].next.emplace(t, int(nodes_.size() - 1)).first;
            }
            n = it->second;
        }
        if (nodes_[size_t(n)].label >= 0)
            fail(Errc::invalid_argument, "label constraint: labels {} and {} have the same tokens",
                 nodes_[size_t(n)].label, l);
        nodes_[size_t(n)].label = int(l);
    }
    if (end_token_ < 0)
        for (const auto& node : nodes_)
            if (node.label >= 0 && !node.next.empty())
                fail(Errc::invalid_argument,
                     "label constraint: label {} is a prefix of another label and no end token was given",
                     node.label);
}

void LabelConstraint::apply(float* logits, int32_t n_vocab) const {
    const auto allow = allowed();
    std::vector<float> keep(allow.size());
    for (size_t i = 0; i < allow.size(); ++i) keep[i] = allow[i] < n_vocab ? logits[allow[i]] : 0;
    std::fill(logits, logits + n_vocab, -std::numeric_limits<float>::infinity());
    for (size_t i = 0; i < allow.size(); ++i)
        if (allow[i] < n_vocab) logits[allow[i]] = keep[i];
}

std::vector<int32_t> LabelConstraint::allowed() const {
    std::vector<int32_t> out;
    if (cur_ < 0 || ended_) return out;
    const Node& n = nodes_[size_t(cur_)];
    for (const auto& [t, _] : n.next) out.push_back(t);
    if (n.label >= 0 && !n.next.empty() && end_token_ >= 0) out.push_back(end_token_);
    std::sort(out.begin(), out.end());
    return out;
}

void LabelConstraint::accept(int32_t token) {
    if (cur_ < 0 || ended_) return;
    const Node& n = nodes_[size_t(cur_)];
    if (n.label >= 0 && token == end_token_ && !n.next.count(token)) {
        ended_ = true;
        return;
    }
    auto it = n.next.find(token);
    cur_ = it == n.next.end() ? -1 : it->second;
}

bool LabelConstraint::complete() const {
    if (cur_ < 0) return true;  // off the trie (cannot happen through apply): nothing more can match
    const Node& n = nodes_[size_t(cur_)];
    return ended_ || (n.label >= 0 && n.next.empty());
}

int LabelConstraint::matched() const {
    if (cur_ < 0) return -1;
    const Node& n = nodes_[size_t(cur_)];
    return (ended_ || (n.label >= 0 && n.next.empty())) ? n.label : -1;
}

LabelScores label_scores(const std::vector<std::vector<float>>& token_logprobs) {
    LabelScores s;
    const size_t k = token_logprobs.size();
    if (k == 0) fail(Errc::invalid_argument, "label_scores: no labels");
    s.logprob.resize(k);
    double mx = -std::numeric_limits<double>::infinity();
    for (size_t i = 0; i < k; ++i) {
        if (token_logprobs[i].empty()) fail(Errc::invalid_argument, "label_scores: label {} has no tokens", i);
        double sum = 0;
        for (float lp : token_logprobs[i]) sum += lp;
        s.logprob[i] = sum;
        mx = std::max(mx, sum);
    }
    s.prob.resize(k);
    double z = 0;
    for (size_t i = 0; i < k; ++i) z += (s.prob[i] = std::exp(s.logprob[i] - mx));
    for (auto& p : s.prob) p /= z;
    s.best = 0;
    for (size_t i = 1; i < k; ++i)
        if (s.prob[i] > s.prob[size_t(s.best)]) s.best = int(i);
    double second = 0;
    for (size_t i = 0; i < k; ++i)
        if (int(i) != s.best) second = std::max(second, s.prob[i]);
    s.margin = s.prob[size_t(s.best)] - second;
    const auto& t = token_logprobs[size_t(s.best)];
    double sum = 0, mn = std::numeric_limits<double>::infinity();
    for (float lp : t) {
        sum += lp;
        mn = std::min(mn, double(lp));
    }
    s.mean_token_logprob = sum / double(t.size());
    s.min_token_logprob = mn;
    return s;
}

}  // namespace kinglet
