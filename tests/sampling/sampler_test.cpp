#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>

#include "core/error.h"
#include "sampling/sampler.h"

using namespace kinglet;

namespace {
SamplingParams plain(float temp, uint64_t seed = 1) {
    SamplingParams p;
    p.temperature = temp;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    p.seed = seed;
    return p;
}
}  // namespace

TEST(Sampler, GreedyIsFirstArgmax) {
    Sampler s(SamplingParams::greedy(), 5);
    std::vector<float> l = {0.1f, 2.0f, -1.0f, 2.0f, 1.9f};
    EXPECT_EQ(s.sample(l.data(), {}), 1);  // first of two equal maxima
}

TEST(Sampler, SameSeedSameSequenceDifferentSeedDiffers) {
    std::vector<float> base(50);
    for (int i = 0; i < 50; ++i) base[i] = std::sin(float(i)) * 2;
    auto draw = [&](uint64_t seed) {
        Sampler s(plain(1.0f, seed), 50);
        std::vector<int32_t> out;
        for (int i = 0; i < 64; ++i) {
            auto l = base;
            out.push_back(s.sample(l.data(), {}));
        }
        return out;
    };
    EXPECT_EQ(draw(42), draw(42));
    EXPECT_NE(draw(42), draw(43));
}

// At temperature 1 with no filters the empirical frequencies approach softmax(logits).
TEST(Sampler, Temperature1MatchesSoftmax) {
    std::vector<float> base = {1.0f, 0.0f, -1.0f, 2.0f};
    double z = 0;
    for (float l : base) z += std::exp(l);
    Sampler s(plain(1.0f, 7), 4);
    std::vector<int> count(4);
    const int N = 200000;
    for (int i = 0; i < N; ++i) {
        auto l = base;
        count[s.sample(l.data(), {})]++;
    }
    for (int i = 0; i < 4; ++i) {
        double p = std::exp(base[i]) / z;
        double sd = std::sqrt(p * (1 - p) / N);
        EXPECT_NEAR(double(count[i]) / N, p, 5 * sd) << "token " << i;
    }
}

// Temperature 0.5 squares the odds: p ∝ exp(2 l).
TEST(Sampler, TemperatureSharpens) {
    std::vector<float> base = {0.0f, 1.0f};
    Sampler s(plain(0.5f, 9), 2);
    int ones = 0;
    const int N = 100000;
    for (int i = 0; i < N; ++i) {
        auto l = base;
        ones += s.sample(l.data(), {});
    }
    double p = std::exp(2.0) / (1 + std::exp(2.0));
    EXPECT_NEAR(double(ones) / N, p, 5 * std::sqrt(p * (1 - p) / N));
}

TEST(Sampler, TopKOneIsGreedy) {
    auto p = plain(1.5f, 3);
    p.top_k = 1;
    Sampler s(p, 6);
    for (int i = 0; i < 100; ++i) {
        std::vector<float> l = {0.5f, 0.1f, 0.7f, 0.69f, -3.0f, 0.0f};
        ASSERT_EQ(s.sample(l.data(), {}), 2);
    }
}

// probs of {3,2,1,0} logits: 0.644, 0.237, 0.087, 0.032. top_p 0.85 keeps the first two
// (0.644 < 0.85 <= 0.881); min_p 0.1 keeps those >= 0.0644: the first three.
TEST(Sampler, TopPAndMinPKeepTheRightSets) {
    auto seen = [](SamplingParams p) {
        Sampler s(p, 4);
        std::set<int32_t> out;
        for (int i = 0; i < 5000; ++i) {
            std::vector<float> l = {3, 2, 1, 0};
            out.insert(s.sample(l.data(), {}));
        }
        return out;
    };
    auto p = plain(1.0f, 11);
    p.top_p = 0.85f;
    EXPECT_EQ(seen(p), (std::set<int32_t>{0, 1}));
    p = plain(1.0f, 12);
    p.min_p = 0.1f;
    EXPECT_EQ(seen(p), (std::set<int32_t>{0, 1, 2}));
}

TEST(Sampler, PenaltiesFollowTheirDefinitions) {
    auto p = SamplingParams::greedy();
    p.repeat_penalty = 2.0f;
    p.frequency_penalty = 0.5f;
    p.presence_penalty = 0.25f;
    Sampler s(p, 4);
    // history: token 0 twice, token 1 once.
    std::vector<float> l = {4.0f, -1.0f, 1.0f, 1.5f};
    s.sample(l.data(), {0, 1, 0});
    EXPECT_FLOAT_EQ(l[0], 4.0f / 2 - 2 * 0.5f - 0.25f);
    EXPECT_FLOAT_EQ(l[1], -1.0f * 2 - 0.5f - 0.25f);
    EXPECT_FLOAT_EQ(l[2], 1.0f);
    EXPECT_FLOAT_EQ(l[3], 1.5f);
}

TEST(Sampler, RepeatWindowLimitsHistory) {
    auto p = SamplingParams::greedy();
    p.presence_penalty = 1.0f;
    p.repeat_last_n = 1;
    Sampler s(p, 3);
    std::vector<float> l = {1, 1, 1};
    s.sample(l.data(), {0, 1});
    EXPECT_FLOAT_EQ(l[0], 1.0f);  // outside the window
    EXPECT_FLOAT_EQ(l[1], 0.0f);
}

TEST(Sampler, LogitBiasBansAndForces) {
    auto p = plain(1.0f, 5);
    p.logit_bias[2] = 100.0f;
    Sampler s(p, 3);
    for (int i = 0; i < 100; ++i) {
        std::vector<float> l = {5, 5, 0};
        ASSERT_EQ(s.sample(l.data(), {}), 2);
    }
    auto q = SamplingParams::greedy();
    q.logit_bias[0] = -100.0f;
    Sampler g(q, 3);
    std::vector<float> l = {5, 4, 0};
    EXPECT_EQ(g.sample(l.data(), {}), 1);
}

TEST(Sampler, BadParametersAreClearErrors) {
    auto p = SamplingParams::greedy();
    p.logit_bias[99] = 1.0f;
    EXPECT_THROW(Sampler(p, 10), Error);
    auto q = SamplingParams::greedy();
    q.repeat_penalty = 0;
    EXPECT_THROW(Sampler(q, 10), Error);
}

TEST(LogProbs, NormalisedAndOrdered) {
    std::vector<float> l = {1.0f, 3.0f, 2.0f, 3.0f};
    double total = 0;
    for (int i = 0; i < 4; ++i) total += std::exp(log_prob(l.data(), 4, i));
    EXPECT_NEAR(total, 1.0, 1e-6);
    auto top = top_log_probs(l.data(), 4, 3);
    ASSERT_EQ(top.size(), 3u);
    EXPECT_EQ(top[0].first, 1);  // tie with 3 broken by lower id
    EXPECT_EQ(top[1].first, 3);
    EXPECT_EQ(top[2].first, 2);
    double z = std::exp(1.0) + 2 * std::exp(3.0) + std::exp(2.0);
    EXPECT_NEAR(top[0].second, 3.0 - std::log(z), 1e-6);
}

namespace {

// A vocabulary-sized row: normal logits (spread 3), a few clear favourites, banned (-inf) and NaN
// entries, and runs of equal logits.
std::vector<float> vocab_row(uint32_t seed, int n) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> g(0.0f, 3.0f);
    std::vector<float> l(n);
    for (int i = 0; i < n; ++i) l[i] = g(rng);
    for (int i = 0; i < n; i += 997) l[i] = -INFINITY;
    for (int i = 5; i < n; i += 1009) l[i] = NAN;
    for (int i = 100; i < 110; ++i) l[i] = 9.0f;  // ties
    l[n - 1] = 11.0f;
    l[7] = 10.5f;
    return l;
}

// The chain's kept set and its probabilities at the temperature, computed independently: a full sort
// by logit (ties by lower id), top-k, probabilities at temperature 1 over the top-k in double, min-p
// against the most likely, the shortest prefix reaching top-p, then softmax(l / T) over what is left.
std::map<int32_t, double> reference_chain(const std::vector<float>& l, const SamplingParams& p) {
    std::vector<int32_t> ids;
    for (int32_t i = 0; i < int32_t(l.size()); ++i)
        if (l[i] > -INFINITY) ids.push_back(i);
    std::sort(ids.begin(), ids.end(), [&](int32_t a, int32_t b) { return l[a] > l[b] || (l[a] == l[b] && a < b); });
    if (p.top_k > 0 && size_t(p.top_k) < ids.size()) ids.resize(p.top_k);
    const double mx = l[ids[0]];
    double z = 0;
    for (int32_t i : ids) z += std::exp(l[i] - mx);
    std::vector<int32_t> kept;
    double cum = 0;
    for (int32_t i : ids) {
        const double q = std::exp(l[i] - mx);
        if (p.min_p > 0 && q < p.min_p) continue;
        kept.push_back(i);
        cum += q / z;
        if (p.top_p < 1 && cum >= p.top_p) break;
    }
    std::map<int32_t, double> out;
    double zt = 0;
    for (int32_t i : kept) zt += std::exp((l[i] - mx) / p.temperature);
    for (int32_t i : kept) out[i] = std::exp((l[i] - mx) / p.temperature) / zt;
    return out;
}

// Draws N tokens and checks each is in the reference set and the frequencies of the likeliest tokens.
void expect_follows_reference(const std::vector<float>& row, const SamplingParams& p, int N) {
    const auto want = reference_chain(row, p);
    Sampler s(p, int32_t(row.size()));
    std::map<int32_t, int> count;
    std::vector<float> l;
    for (int i = 0; i < N; ++i) {
        l = row;
        const int32_t t = s.sample(l.data(), {});
        ASSERT_TRUE(want.count(t)) << "token " << t << " (logit " << row[t] << ") is outside the kept set of "
                                   << want.size();
        count[t]++;
    }
    for (const auto& [id, prob] : want) {
        if (prob < 0.02) continue;
        const double sd = std::sqrt(prob * (1 - prob) / N);
        EXPECT_NEAR(double(count[id]) / N, prob, 5 * sd) << "token " << id;
    }
}

}  // namespace

// A 49152-token vocabulary through each part of the chain: every drawn token is one the chain keeps
// and the likeliest tokens come up as often as the reference says. Banned and NaN logits never come up.
TEST(Sampler, LargeVocabularyFollowsTheChain) {
    const std::vector<float> row = vocab_row(3, 49152);
    auto p = plain(0.7f, 21);
    expect_follows_reference(row, p, 8000);  // no filter: the whole vocabulary
    p = plain(1.3f, 22);
    p.top_k = 40;
    expect_follows_reference(row, p, 8000);
    p = plain(0.8f, 23);
    p.top_p = 0.9f;
    expect_follows_reference(row, p, 8000);
    p = plain(1.0f, 24);
    p.min_p = 0.05f;
    expect_follows_reference(row, p, 8000);
    p = plain(0.8f, 25);  // kinglet run's defaults
    p.top_k = 40;
    p.top_p = 0.95f;
    p.min_p = 0.05f;
    expect_follows_reference(row, p, 8000);
}

// A flat distribution: top-p must keep many tokens (most of the vocabulary's mass is in the tail).
TEST(Sampler, TopPOverAFlatVocabulary) {
    std::vector<float> row(4096);
    for (int i = 0; i < 4096; ++i) row[i] = float(i % 64) * 0.01f;
    for (float top_p : {0.5f, 0.99f}) {
        auto p = plain(1.0f, 31);
        p.top_p = top_p;
        const auto want = reference_chain(row, p);
        Sampler s(p, 4096);
        for (int i = 0; i < 1000; ++i) {
            auto l = row;
            const int32_t t = s.sample(l.data(), {});
            ASSERT_TRUE(want.count(t)) << "top_p " << top_p << ": token " << t << " not in the kept " << want.size();
        }
    }
}

TEST(Sampler, OnlyBannedOrNaNLeftGivesTokenZeroAndNeverPicksThem) {
    std::vector<float> l = {NAN, -INFINITY, NAN};
    Sampler s(plain(1.0f), 3);
    EXPECT_EQ(s.sample(l.data(), {}), 0);
    for (int i = 0; i < 200; ++i) {
        std::vector<float> m = {NAN, 1.0f, -INFINITY, 1.5f, NAN};
        const int32_t t = Sampler(plain(1.0f, uint64_t(i)), 5).sample(m.data(), {});
        ASSERT_TRUE(t == 1 || t == 3) << t;
    }
}
