#include <gtest/gtest.h>

#include <cmath>
#include <map>
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
