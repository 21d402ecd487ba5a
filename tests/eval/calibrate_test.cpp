// Cascade calibration on hand-made records with hand-computed curves.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "eval/calibrate.h"
#include "eval/cascade_report.h"

#include <nlohmann/json.hpp>
#include <tuple>

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

namespace {
void write_results(const std::filesystem::path& p, const std::vector<std::tuple<std::string, std::string, bool, double>>& rows,
                   bool torn = false) {
    std::ofstream f(p);
    f << R"({"kinglet_eval":1,"model":"m"})" << "\n";
    for (const auto& [id, split, ok, conf] : rows)
        f << nlohmann::json{{"id", id}, {"split", split}, {"correct", ok}, {"label_prob", conf}, {"margin", conf / 2},
                            {"mean_logprob", -1.0}, {"min_logprob", -2.0}, {"prompt_tokens", 100}, {"completion_tokens", 0}}
                 .dump()
          << "\n";
    if (torn) f << R"({"id":"x","spl)";
}
}  // namespace

TEST(Calibrate, CascadeFromResultsFilesByHand) {
    auto dir = std::filesystem::temp_directory_path() / "kinglet_cascade_report_test";
    std::filesystem::create_directories(dir);
    write_results(dir / "small.jsonl", {{"c1", "calibration", true, 0.9}, {"c2", "calibration", false, 0.8},
                                        {"c3", "calibration", true, 0.6}, {"c4", "calibration", false, 0.3},
                                        {"t1", "test", true, 0.95}, {"t2", "test", false, 0.85},
                                        {"t3", "test", true, 0.7}, {"t4", "test", false, 0.5}}, true);
    write_results(dir / "large.jsonl", {{"c1", "calibration", true, 0.9}, {"c2", "calibration", true, 0.9},
                                        {"c3", "calibration", true, 0.9}, {"c4", "calibration", true, 0.9},
                                        {"t1", "test", true, 0.9}, {"t2", "test", true, 0.9},
                                        {"t3", "test", true, 0.9}, {"t4", "test", true, 0.9}});
    CascadeOptions o;
    o.objective = parse_objective("escalation=50%");
    o.small_price = {10, 0};   // 100 tokens -> 0.001
    o.large_price = {100, 0};  // 100 tokens -> 0.01
    o.bootstrap.resamples = 200;
    auto small = read_results((dir / "small.jsonl").string());
    ASSERT_EQ(small.size(), 8u);  // settings line and torn line skipped
    auto rep = calibrate_cascade(small, read_results((dir / "large.jsonl").string()), o);
    EXPECT_EQ(rep["chosen"]["threshold"], 0.8);
    // Test split at 0.8: t3, t4 escalate; t1 right (small), t2 wrong (small), t3, t4 right (large).
    EXPECT_DOUBLE_EQ(rep["test"]["escalation_rate"]["estimate"].get<double>(), 0.5);
    EXPECT_DOUBLE_EQ(rep["test"]["accuracy"]["estimate"].get<double>(), 0.75);
    EXPECT_NEAR(rep["test"]["mean_cost"]["estimate"].get<double>(), (4 * 0.001 + 2 * 0.01) / 4, 1e-12);
    EXPECT_DOUBLE_EQ(rep["small_alone"]["accuracy"]["estimate"].get<double>(), 0.5);
    EXPECT_DOUBLE_EQ(rep["large_alone"]["accuracy"]["estimate"].get<double>(), 1.0);
    EXPECT_DOUBLE_EQ(rep["signal_auroc"]["label_prob"].get<double>(), 0.75);
    EXPECT_DOUBLE_EQ(rep["signal_auroc"]["margin"].get<double>(), 0.75);   // same order as label_prob
    EXPECT_DOUBLE_EQ(rep["signal_auroc"]["mean_logprob"].get<double>(), 0.5);  // constant: all ties
    // Test split: small right on t1, t3; large on all: b = 2 discordant, p = 2 * (1/4) = 0.5.
    EXPECT_EQ(rep["small_vs_large"]["large_only_correct"], 2);
    EXPECT_DOUBLE_EQ(rep["small_vs_large"]["mcnemar_exact_p"].get<double>(), 0.5);
    EXPECT_NE(rep["config"].get<std::string>().find("min_confidence: 0.8"), std::string::npos);
    EXPECT_FALSE(format_cascade(rep).empty());
    // A case the large target never ran is an error.
    write_results(dir / "large_short.jsonl", {{"c1", "calibration", true, 0.9}});
    EXPECT_THROW(calibrate_cascade(small, read_results((dir / "large_short.jsonl").string()), o), Error);
    o.signal = "nope";
    EXPECT_THROW(calibrate_cascade(small, small, o), Error);
    std::filesystem::remove_all(dir);
}
