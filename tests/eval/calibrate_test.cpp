// Cascade calibration on hand-made records with hand-computed curves.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "eval/calibrate.h"

using namespace kinglet;
using namespace kinglet::eval;

namespace {
// Small costs 1, large 10. Small right at .9 and .6, wrong at .8 and .3; large always right.
std::vector<CascadeCase> four() {
    return {{0.9, true, true, 1, 10}, {0.8, false, true, 1, 10}, {0.6, true, true, 1, 10}, {0.3, false, true, 1, 10}};
}
}  // namespace

TEST(Calibrate, SweepByHand) {
    auto curve = sweep(four());
    ASSERT_EQ(curve.size(), 5u);
    // threshold, escalation, accuracy, cost per case.
    const double want[5][4] = {
        {0.3, 0.0, 0.5, 1.0}, {0.6, 0.25, 0.75, 3.5}, {0.8, 0.5, 0.75, 6.0}, {0.9, 0.75, 1.0, 8.5}, {INFINITY, 1.0, 1.0, 11.0}};
    for (size_t i = 0; i < 5; ++i) {
        SCOPED_TRACE(i);
        EXPECT_EQ(curve[i].threshold, want[i][0]);
        EXPECT_DOUBLE_EQ(curve[i].escalation_rate, want[i][1]);
        EXPECT_DOUBLE_EQ(curve[i].accuracy, want[i][2]);
        EXPECT_DOUBLE_EQ(curve[i].mean_cost, want[i][3]);
    }
}

TEST(Calibrate, TiedConfidencesMoveTogether) {
    auto curve = sweep({{0.5, true, false, 1, 2}, {0.5, false, true, 1, 2}, {0.7, true, true, 1, 2}});
    ASSERT_EQ(curve.size(), 3u);
    EXPECT_DOUBLE_EQ(curve[1].escalation_rate, 2.0 / 3);
    EXPECT_DOUBLE_EQ(curve[1].accuracy, 2.0 / 3);
}

TEST(Calibrate, ChooseForEachObjective) {
    auto curve = sweep(four());
    auto e = choose(curve, parse_objective("escalation=50%"), 1.0);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->threshold, 0.8);
    auto e2 = choose(curve, parse_objective("escalation=0.3"), 1.0);
    EXPECT_EQ(e2->threshold, 0.6);
    auto a = choose(curve, parse_objective("accuracy=0.94"), 1.0);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->threshold, 0.9);
    auto a2 = choose(curve, parse_objective("accuracy=0.7"), 1.0);
    EXPECT_EQ(a2->threshold, 0.6);  // 0.6 and 0.8 both reach 0.75; 0.6 is cheaper
    auto w = choose(curve, parse_objective("within=25"), 1.0);
    EXPECT_EQ(w->threshold, 0.6);
    auto w0 = choose(curve, parse_objective("within=0"), 1.0);
    EXPECT_EQ(w0->threshold, 0.9);
    std::vector<CascadeCase> bad = {{0.5, false, false, 1, 1}};
    EXPECT_FALSE(choose(sweep(bad), parse_objective("accuracy=0.5"), 0.0));
}

TEST(Calibrate, ObjectiveParsing) {
    EXPECT_DOUBLE_EQ(parse_objective("escalation=5%").value, 0.05);
    EXPECT_DOUBLE_EQ(parse_objective("within=2").value, 0.02);
    EXPECT_DOUBLE_EQ(parse_objective("accuracy=0.94").value, 0.94);
    EXPECT_THROW(parse_objective("accuracy"), Error);
    EXPECT_THROW(parse_objective("speed=1"), Error);
    EXPECT_THROW(parse_objective("accuracy=x"), Error);
    EXPECT_THROW(parse_objective("accuracy=1.5"), Error);
}

TEST(Calibrate, EvaluateAndAuroc) {
    auto r = evaluate_threshold(four(), 0.8);
    EXPECT_EQ(r.n, 4u);
    EXPECT_DOUBLE_EQ(r.accuracy.estimate, 0.75);
    EXPECT_DOUBLE_EQ(r.escalation_rate.estimate, 0.5);
    EXPECT_DOUBLE_EQ(r.mean_cost.estimate, 6.0);
    EXPECT_LE(r.accuracy.lo, 0.75);
    EXPECT_GE(r.accuracy.hi, 0.75);
    // Correct at .9, .6; wrong at .8, .3: .9>.8, .9>.3, .6<.8, .6>.3 -> 3/4.
    EXPECT_DOUBLE_EQ(signal_auroc(four()), 0.75);
}
