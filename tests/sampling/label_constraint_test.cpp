// LabelConstraint's trie and the label-set confidence signals, on hand-built cases.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/error.h"
#include "sampling/label_constraint.h"

using namespace kinglet;

TEST(LabelConstraint, MasksToLabelContinuationsAndCompletes) {
    // Labels: [5, 1], [5, 2, 3], [7].
    LabelConstraint c(std::vector<std::vector<int32_t>>{{5, 1}, {5, 2, 3}, {7}});
    EXPECT_EQ(c.allowed(), (std::vector<int32_t>{5, 7}));
    std::vector<float> l(10, 1.0f);
    l[5] = 2.0f;
    c.apply(l.data(), 10);
    for (int i = 0; i < 10; ++i)
        if (i == 5) EXPECT_EQ(l[size_t(i)], 2.0f);
        else if (i == 7) EXPECT_EQ(l[size_t(i)], 1.0f);
        else EXPECT_EQ(l[size_t(i)], -std::numeric_limits<float>::infinity());
    EXPECT_FALSE(c.complete());
    c.accept(5);
    EXPECT_EQ(c.allowed(), (std::vector<int32_t>{1, 2}));
    EXPECT_EQ(c.matched(), -1);
    c.accept(2);
    EXPECT_FALSE(c.complete());
    c.accept(3);
    EXPECT_TRUE(c.complete());
    EXPECT_EQ(c.matched(), 1);
    EXPECT_TRUE(c.allowed().empty());
}

TEST(LabelConstraint, GreedySamplingUnderTheConstraintAlwaysYieldsALabel) {
    LabelConstraint c(std::vector<std::vector<int32_t>>{{3, 4}, {8}});
    Sampler s(SamplingParams::greedy(), 10);
    std::vector<int32_t> hist;
    for (int step = 0; step < 5 && !c.complete(); ++step) {
        std::vector<float> l(10);
        for (int i = 0; i < 10; ++i) l[size_t(i)] = float((i * 7 + step) % 10);  // 4 is best at step 0... any
        int32_t t = s.sample(l.data(), hist, &c);
        c.accept(t);
        hist.push_back(t);
    }
    EXPECT_TRUE(c.complete());
    EXPECT_GE(c.matched(), 0);
}

TEST(LabelConstraint, PrefixLabelsNeedAnEndToken) {
    using Seqs = std::vector<std::vector<int32_t>>;
    EXPECT_THROW(LabelConstraint(Seqs{{1}, {1, 2}}), Error);
    EXPECT_THROW(LabelConstraint(Seqs{}), Error);
    EXPECT_THROW(LabelConstraint(Seqs{{1}, std::vector<int32_t>{}}), Error);
    EXPECT_THROW(LabelConstraint(Seqs{{1, 2}, {1, 2}}), Error);
    LabelConstraint c(Seqs{{1}, {1, 2}}, 0);
    c.accept(1);
    EXPECT_FALSE(c.complete());
    EXPECT_EQ(c.allowed(), (std::vector<int32_t>{0, 2}));
    c.accept(0);
    EXPECT_TRUE(c.complete());
    EXPECT_EQ(c.matched(), 0);
}

TEST(LabelScores, HandComputed) {
    // Label 0: log(0.5) + log(0.5) = log(0.25); label 1: log(0.25); label 2: log(0.5).
    auto s = label_scores({{std::log(0.5f), std::log(0.5f)}, {std::log(0.25f)}, {std::log(0.5f)}});
    // Normalised: 0.25 / 1, 0.25 / 1, 0.5 / 1.
    EXPECT_NEAR(s.prob[0], 0.25, 1e-6);
    EXPECT_NEAR(s.prob[1], 0.25, 1e-6);
    EXPECT_NEAR(s.prob[2], 0.5, 1e-6);
    EXPECT_EQ(s.best, 2);
    EXPECT_NEAR(s.margin, 0.25, 1e-6);
    EXPECT_NEAR(s.mean_token_logprob, std::log(0.5), 1e-6);
    EXPECT_NEAR(s.min_token_logprob, std::log(0.5), 1e-6);
    auto t = label_scores({{-1.0f, -3.0f}});
    EXPECT_DOUBLE_EQ(t.prob[0], 1.0);
    EXPECT_DOUBLE_EQ(t.margin, 1.0);
    EXPECT_DOUBLE_EQ(t.mean_token_logprob, -2.0);
    EXPECT_DOUBLE_EQ(t.min_token_logprob, -3.0);
    // Very negative log-probabilities stay finite after normalisation.
    auto u = label_scores({{-1000.0f}, {-1001.0f}});
    EXPECT_NEAR(u.prob[0], 1 / (1 + std::exp(-1.0)), 1e-9);
}
