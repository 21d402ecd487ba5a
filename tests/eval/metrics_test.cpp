// Metrics against hand-computed values; the bootstrap against the coverage it promises.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/error.h"
#include "eval/json_grader.h"
#include "eval/metrics.h"

using namespace kinglet;
using namespace kinglet::eval;

TEST(Metrics, ClassificationByHand) {
    // Labels a=0 b=1 c=2; one prediction (-1) is not a label.
    std::vector<int> e = {0, 0, 0, 1, 1, 2, 2, 2, 2, 0};
    std::vector<int> p = {0, 0, 1, 1, 2, 2, 2, 0, -1, 0};
    auto m = classification_metrics({"a", "b", "c"}, e, p);
    EXPECT_EQ(m.n, 10);
    EXPECT_DOUBLE_EQ(m.accuracy, 0.6);
    std::vector<std::vector<int64_t>> want = {{3, 1, 0, 0}, {0, 1, 1, 0}, {1, 0, 2, 1}};
    EXPECT_EQ(m.confusion, want);
    EXPECT_DOUBLE_EQ(m.precision[0], 0.75);
    EXPECT_DOUBLE_EQ(m.recall[0], 0.75);
    EXPECT_DOUBLE_EQ(m.precision[1], 0.5);
    EXPECT_DOUBLE_EQ(m.recall[1], 0.5);
    EXPECT_DOUBLE_EQ(m.precision[2], 2.0 / 3);
    EXPECT_DOUBLE_EQ(m.recall[2], 0.5);
    EXPECT_NEAR(m.f1[2], 4.0 / 7, 1e-12);
    EXPECT_NEAR(m.macro_f1, (0.75 + 0.5 + 4.0 / 7) / 3, 1e-12);
    EXPECT_EQ(m.support, (std::vector<int64_t>{4, 2, 4}));
}

TEST(Metrics, NeverPredictedClassHasZeroPrecisionAndCountsInMacroF1) {
    std::vector<int> e = {0, 1}, p = {0, 0};
    auto m = classification_metrics({"x", "y"}, e, p);
    EXPECT_DOUBLE_EQ(m.precision[1], 0);
    EXPECT_DOUBLE_EQ(m.recall[1], 0);
    EXPECT_DOUBLE_EQ(m.f1[0], 2 * 0.5 * 1 / 1.5);
    EXPECT_DOUBLE_EQ(m.macro_f1, (2.0 / 3) / 2);
}

TEST(Metrics, AurocCountsTiesAsHalf) {
    std::vector<double> s = {0.9, 0.8, 0.8, 0.3, 0.1};
    std::vector<char> pos_c = {1, 1, 0, 0, 1};
    bool pos[5];
    for (int i = 0; i < 5; ++i) pos[i] = pos_c[size_t(i)];
    // positives {.9,.8,.1} vs negatives {.8,.3}: 1 + 1 + .5 + 1 + 0 + 0 = 3.5 of 6 pairs.
    EXPECT_DOUBLE_EQ(auroc(s, pos), 3.5 / 6);
    bool perfect[5] = {true, true, true, false, false};
    std::vector<double> s2 = {5, 4, 3, 2, 1};
    EXPECT_DOUBLE_EQ(auroc(s2, perfect), 1.0);
    std::vector<double> same = {1, 1, 1, 1, 1};
    EXPECT_DOUBLE_EQ(auroc(same, perfect), 0.5);
    bool all[5] = {true, true, true, true, true};
    EXPECT_TRUE(std::isnan(auroc(s2, all)));
}

TEST(Metrics, Graders) {
    EXPECT_TRUE(grade_exact("  Paris\n", "Paris"));
    EXPECT_FALSE(grade_exact("paris", "Paris"));
    EXPECT_TRUE(grade_exact("paris", "Paris", true));
    EXPECT_TRUE(grade_contains("The capital is Paris.", "Paris"));
    EXPECT_FALSE(grade_contains("The capital is paris.", "Paris"));
    EXPECT_TRUE(grade_contains("The capital is PARIS.", "paris", true));
    RegexGrader g(R"(\b\d{3}-\d{4}\b)");
    EXPECT_TRUE(g("call 555-1234 now"));
    EXPECT_FALSE(g("call 5551234 now"));
    RegexGrader u(R"(^\p{Lu}\w+é$)");
    EXPECT_TRUE(u("Café"));
    EXPECT_THROW(RegexGrader("(unclosed"), Error);
}

TEST(Metrics, BootstrapIsDeterministicAndDegenerateOnConstants) {
    std::vector<double> v = {1, 0, 1, 1, 0, 1, 0, 1, 1, 1};
    auto a = bootstrap_mean(v, {500, 7, 0.95});
    auto b = bootstrap_mean(v, {500, 7, 0.95});
    EXPECT_EQ(a.lo, b.lo);
    EXPECT_EQ(a.hi, b.hi);
    EXPECT_DOUBLE_EQ(a.estimate, 0.7);
    EXPECT_LE(a.lo, 0.7);
    EXPECT_GE(a.hi, 0.7);
    EXPECT_GE(a.lo, 0.0);
    EXPECT_LE(a.hi, 1.0);
    std::vector<double> c(20, 3.0);
    auto k = bootstrap_mean(c);
    EXPECT_DOUBLE_EQ(k.lo, 3.0);
    EXPECT_DOUBLE_EQ(k.hi, 3.0);
}

TEST(Metrics, BootstrapIntervalCoversBernoulliMeanAbout95Percent) {
    // Draw n Bernoulli(p) samples many times; the 95% percentile interval should contain p in about
    // 95% of repetitions (the percentile method runs a little under nominal at this n).
    const double p = 0.3;
    const int n = 120, reps = 400;
    SplitMix64 data_rng(12345);
    int covered = 0;
    for (int r = 0; r < reps; ++r) {
        std::vector<double> x(n);
        for (auto& v : x) v = data_rng.unit() < p ? 1.0 : 0.0;
        auto ci = bootstrap_mean(x, {400, uint64_t(1000 + r), 0.95});
        covered += (ci.lo <= p && p <= ci.hi);
    }
    const double coverage = double(covered) / reps;
    EXPECT_GE(coverage, 0.90);
    EXPECT_LE(coverage, 0.985);
}

TEST(Metrics, PairedMcNemarByHand) {
    // A right on 7, B right on 3: a_only = 5, b_only = 1, both = 2, neither = 2.
    std::vector<char> ac = {1, 1, 1, 1, 1, 1, 1, 0, 0, 0};
    std::vector<char> bc = {1, 1, 0, 0, 0, 0, 0, 1, 0, 0};
    bool a[10], b[10];
    for (int i = 0; i < 10; ++i) a[i] = ac[size_t(i)], b[i] = bc[size_t(i)];
    auto r = compare_paired(std::span<const bool>(a, 10), std::span<const bool>(b, 10));
    EXPECT_EQ(r.a_only, 5);
    EXPECT_EQ(r.b_only, 1);
    EXPECT_EQ(r.both, 2);
    EXPECT_EQ(r.neither, 2);
    // P(X <= 1 | X ~ Bin(6, 1/2)) = 7/64, two-sided 14/64.
    EXPECT_NEAR(r.mcnemar_p, 14.0 / 64, 1e-12);
    EXPECT_DOUBLE_EQ(r.difference.estimate, 0.4);
    EXPECT_LE(r.difference.lo, 0.4);
    EXPECT_GE(r.difference.hi, 0.4);
    auto same = compare_paired(std::span<const bool>(a, 10), std::span<const bool>(a, 10));
    EXPECT_DOUBLE_EQ(same.mcnemar_p, 1.0);
    EXPECT_DOUBLE_EQ(same.difference.lo, 0.0);
    EXPECT_DOUBLE_EQ(same.difference.hi, 0.0);
}

TEST(Metrics, SplitMixBelowIsInRangeAndUniformish) {
    SplitMix64 r(1);
    std::vector<int> counts(7, 0);
    for (int i = 0; i < 70000; ++i) ++counts[size_t(r.below(7))];
    for (int c : counts) EXPECT_NEAR(c, 10000, 500);
}

TEST(Metrics, JsonGraderFindsTheObjectAndComparesFields) {
    const auto want = nlohmann::ordered_json::parse(R"({"name": "Ada", "age": 36})");
    auto g = grade_json("Sure! ```json\n{\"age\": 36, \"name\": \"Ada\", \"extra\": \"}\"}\n```", want);
    EXPECT_TRUE(g.valid);
    EXPECT_EQ(g.fields, 2);
    EXPECT_EQ(g.fields_correct, 2);
    EXPECT_TRUE(g.correct);
    auto h = grade_json("{\"name\": \"Ada\", \"age\": \"36\"}", want);  // a string is not the number 36
    EXPECT_TRUE(h.valid);
    EXPECT_EQ(h.fields_correct, 1);
    EXPECT_FALSE(h.correct);
    auto bad = grade_json("{name: Ada} and {\"name\": \"Ada\"", want);
    EXPECT_FALSE(bad.valid);
    EXPECT_FALSE(bad.correct);
    EXPECT_THROW(grade_json("{}", nlohmann::ordered_json("x")), Error);
}

TEST(Metrics, ReliabilityBinsAndEceByHand) {
    // Bin 0.0-0.1: none. 0.2 bin: {0.25 wrong}. 0.9 bin: {0.9 right, 0.95 right, 0.92 wrong}. 1.0 goes to the last bin.
    std::vector<double> p = {0.25, 0.9, 0.95, 0.92, 1.0};
    bool ok[5] = {false, true, true, false, true};
    auto r = reliability(p, std::span<const bool>(ok, 5), 10);
    EXPECT_EQ(r.count[2], 1);
    EXPECT_EQ(r.count[9], 4);
    EXPECT_TRUE(std::isnan(r.accuracy[0]));
    EXPECT_DOUBLE_EQ(r.accuracy[9], 0.75);
    EXPECT_NEAR(r.confidence[9], (0.9 + 0.95 + 0.92 + 1.0) / 4, 1e-12);
    // ECE = 1/5 * |0 - 0.25| + 4/5 * |0.75 - 0.9425|.
    EXPECT_NEAR(r.ece, 0.2 * 0.25 + 0.8 * std::fabs(0.75 - 0.9425), 1e-12);
}
