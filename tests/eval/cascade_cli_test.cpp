// The calibration loop end to end: kinglet eval runs a small and a "large" local target (the tiny
// model quantized to Q8_0, and in F32) on the same split dataset, kinglet calibrate chooses the
// threshold for a target escalation rate on the calibration split, and the rate achieved on the
// untouched test split must be within sampling tolerance of the target.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "support/paths.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {
std::string capture(const std::string& cmd, int* status) {
    FILE* p = popen((cmd + " 2>/dev/null").c_str(), "r");
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    *status = pclose(p);
    return out;
}
}  // namespace

TEST(EvalCascade, CalibratedEscalationRateHoldsOnTheTestSplit) {
    const fs::path dir = fs::temp_directory_path() / ("kinglet_eval_cascade_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const std::vector<std::string> labels = {"girl", "boy", "dog", "cat", "ball"};
    {
        std::ofstream f(dir / "cases.jsonl");
        const char* starts[] = {"Once upon a time, there was a", "One day, a", "Lily saw a", "Tom had a",
                                "In the park, there was a", "The mom gave her a"};
        const char* adjs[] = {"little", "big", "happy", "small", "red", "funny", "sad", "kind", "shy", "tiny"};
        int id = 0;
        for (const char* s : starts)
            for (const char* a : adjs) {
                json row = {{"id", "case" + std::to_string(id)},
                            {"input", std::string(s) + " " + a},
                            {"expected", labels[size_t(id * 7 % 5)]}};
                f << row.dump() << "\n";
                ++id;
            }
    }
    const auto models = kinglet::test::models_dir() / "stories260K";
    const std::string common = " -d " + (dir / "cases.jsonl").string() +
                               " --labels girl,boy,dog,cat,ball --template '{{ input }}' --split-fractions 0,0.5,0.5"
                               " --seed 3 --resamples 100 -q --json";
    int st = 0;
    capture(kinglet::test::kinglet_binary() + " eval -m " + (models / "model-q8_0.gguf").string() + common +
                " --results " + (dir / "small.jsonl").string(),
            &st);
    ASSERT_EQ(st, 0);
    capture(kinglet::test::kinglet_binary() + " eval -m " + (models / "model-f32.gguf").string() + common +
                " --results " + (dir / "large.jsonl").string(),
            &st);
    ASSERT_EQ(st, 0);
    const std::string out = capture(kinglet::test::kinglet_binary() + " calibrate --json --small " +
                                        (dir / "small.jsonl").string() + " --large " + (dir / "large.jsonl").string() +
                                        " --objective escalation=30% --small-price 0.1,0.1 --large-price 10,10",
                                    &st);
    ASSERT_EQ(st, 0) << out;
    const json r = json::parse(out);
    const double n_cal = r["n_calibration"], n_test = r["n_test"];
    EXPECT_EQ(n_cal + n_test, 60);
    const double cal_rate = r["chosen"]["calibration_escalation_rate"];
    EXPECT_LE(cal_rate, 0.30 + 1e-12);
    EXPECT_GE(cal_rate, 0.30 - 3 / n_cal);  // distinct confidences: the curve moves in small steps
    // The achieved test rate: within about 3 binomial standard deviations of the target.
    const double test_rate = r["test"]["escalation_rate"]["estimate"];
    const double tol = 3 * std::sqrt(0.3 * 0.7 / n_test) + 3 / n_cal;
    EXPECT_NEAR(test_rate, 0.30, tol);
    // Costs follow the prices: escalated cases pay both.
    const double lo = r["small_alone"]["mean_cost"]["estimate"], hi = r["large_alone"]["mean_cost"]["estimate"];
    const double c = r["test"]["mean_cost"]["estimate"];
    EXPECT_NEAR(c, lo + test_rate * hi, 1e-9 + 0.05 * hi);
    fs::remove_all(dir);
}
