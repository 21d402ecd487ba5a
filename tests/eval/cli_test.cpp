// kinglet eval end to end on the trained tiny model: the summary agrees with the per-case results file
// (recomputed here independently), and a run resumed from a cut results file ends with the same numbers.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "support/paths.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {
struct CmdResult {
    int status;
    std::string out;
};
CmdResult run_eval(const std::string& args) {
    const std::string cmd = kinglet::test::kinglet_binary() + " eval " + args + " 2>/dev/null";
    FILE* p = popen(cmd.c_str(), "r");
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    return {pclose(p), out};
}
std::vector<std::string> lines_of(const fs::path& f) {
    std::ifstream in(f);
    std::vector<std::string> v;
    for (std::string l; std::getline(in, l);) v.push_back(l);
    return v;
}

class EvalCli : public ::testing::Test {
protected:
    void SetUp() override {
        dir = fs::temp_directory_path() / ("kinglet_eval_cli_" + std::to_string(::getpid()));
        fs::create_directories(dir);
        std::ofstream f(dir / "cases.csv");
        f << "id,text,label\n";
        const char* rows[][2] = {{"Once upon a time, there was a little", "girl"}, {"Tom was a happy little", "boy"},
                                 {"The sun was shining and Lily was very", "happy"}, {"The toy broke and Tim was", "sad"},
                                 {"She had a big red", "ball"}, {"One day, a little", "girl"},
                                 {"\"He said, \"\"I am\"\"\"", "happy"}, {"The boy was very", "sad"}};
        int i = 0;
        for (auto& r : rows) f << "c" << i++ << "," << (r[0][0] == '"' ? r[0] : std::string("\"") + r[0] + "\"") << "," << r[1] << "\n";
        f << "bad,row\n";
    }
    void TearDown() override { fs::remove_all(dir); }
    std::string args(const fs::path& results) {
        return "-m " + (kinglet::test::models_dir() / "stories260K" / "model-f32.gguf").string() + " -d " +
               (dir / "cases.csv").string() +
               " --labels girl,boy,happy,sad,ball --input-field text --expected-field label --template '{{ text }}'"
               " --resamples 200 --json -q --results " + results.string();
    }
    fs::path dir;
};
}  // namespace

TEST_F(EvalCli, SummaryMatchesResultsAndResumeGivesTheSameNumbers) {
    const auto full = dir / "full.jsonl";
    CmdResult a = run_eval(args(full));
    ASSERT_EQ(a.status, 0) << a.out;
    json s = json::parse(a.out)["targets"][0]["summary"];
    s.erase("mean_latency_ms");  // wall time differs between runs
    EXPECT_EQ(s["n"], 8);
    EXPECT_EQ(s["bad_rows"], 1);
    // Independent recomputation from the per-case lines.
    auto lines = lines_of(full);
    ASSERT_EQ(lines.size(), 9u);  // header + 8 cases
    int right = 0;
    for (size_t i = 1; i < lines.size(); ++i) {
        json c = json::parse(lines[i]);
        double sum = 0;
        for (auto& [k, v] : c["probs"].items()) sum += v.get<double>();
        EXPECT_NEAR(sum, 1.0, 1e-9);
        EXPECT_EQ(c["correct"], c["predicted"] == c["expected"]);
        right += c["correct"].get<bool>();
    }
    EXPECT_DOUBLE_EQ(s["accuracy"]["estimate"].get<double>(), right / 8.0);

    // Cut after three cases, with a torn fourth line, as a killed run leaves it.
    const auto cut = dir / "cut.jsonl";
    {
        std::ofstream f(cut);
        for (size_t i = 0; i < 4; ++i) f << lines[i] << "\n";
        f << lines[4].substr(0, lines[4].size() / 2);
    }
    CmdResult b = run_eval(args(cut));
    ASSERT_EQ(b.status, 0) << b.out;
    json sb = json::parse(b.out)["targets"][0]["summary"];
    sb.erase("mean_latency_ms");
    EXPECT_EQ(sb, s);
    EXPECT_EQ(lines_of(cut).size(), 9u);

    // Other settings are refused.
    CmdResult c = run_eval(args(cut) + " --seed 5");
    EXPECT_NE(c.status, 0);
}

TEST_F(EvalCli, TextGradersAgreeWithAnIndependentCheckOfThePrediction) {
    {
        std::ofstream f(dir / "text.jsonl");
        f << R"({"id": "a", "input": "Once upon a time, there was a little girl named", "expected": "Lily"})" << "\n"
          << R"({"id": "b", "input": "One day, Lily went to the", "expected": "park"})" << "\n"
          << R"({"id": "c", "input": "The cat was", "expected": "zebra"})" << "\n"
          << R"({"id": "d", "input": "Tom saw a big", "expected": 5})" << "\n";  // not text: reported, skipped
    }
    const std::string model = (kinglet::test::models_dir() / "stories260K" / "model-f32.gguf").string();
    for (const std::string grader : {"contains", "regex"}) {
        SCOPED_TRACE(grader);
        const auto res = dir / (grader + ".jsonl");
        CmdResult r = run_eval("-m " + model + " -d " + (dir / "text.jsonl").string() + " --grader " + grader +
                               (grader == "regex" ? " --ignore-case" : "") +
                               " --max-tokens 8 -q --json --resamples 100 --results " + res.string());
        ASSERT_EQ(r.status, 0) << r.out;
        auto lines = lines_of(res);
        ASSERT_EQ(lines.size(), 4u);
        int right = 0;
        for (size_t i = 1; i < lines.size(); ++i) {
            json c = json::parse(lines[i]);
            const std::string pred = c["prediction"], ref = c["expected"];
            bool want = grader == "contains"
                            ? pred.find(ref) != std::string::npos
                            : std::regex_search(pred, std::regex(ref, std::regex::icase));
            EXPECT_EQ(c["correct"].get<bool>(), want) << pred;
            EXPECT_LE(c["min_logprob"].get<double>(), c["mean_logprob"].get<double>());
            right += want;
        }
        EXPECT_DOUBLE_EQ(json::parse(r.out)["targets"][0]["summary"]["accuracy"]["estimate"].get<double>(), right / 3.0);
    }
}

// --limit N runs the first N cases of the file; with --stratify, N cases in which every label keeps its
// share of the dataset (within one case: largest-remainder rounding), chosen the same way on every run.
TEST_F(EvalCli, LimitTakesTheFirstCasesAndStratifyKeepsEachLabelsShare) {
    auto ids_of = [](const fs::path& results) {
        std::vector<std::string> ids;
        std::map<std::string, int> per_label;
        auto lines = lines_of(results);
        for (size_t i = 1; i < lines.size(); ++i) {
            const json r = json::parse(lines[i]);
            ids.push_back(r["id"]);
            ++per_label[r["expected"].get<std::string>()];
        }
        return std::make_pair(ids, per_label);
    };
    CmdResult a = run_eval(args(dir / "first.jsonl") + " --limit 3");
    ASSERT_EQ(a.status, 0) << a.out;
    EXPECT_EQ(json::parse(a.out)["targets"][0]["summary"]["n"], 3);
    EXPECT_EQ(ids_of(dir / "first.jsonl").first, (std::vector<std::string>{"c0", "c1", "c2"}));

    // The file's labels: girl 2, boy 1, happy 2, sad 2, ball 1 (8 cases); half of them keeps half of each.
    const std::map<std::string, int> all = {{"girl", 2}, {"boy", 1}, {"happy", 2}, {"sad", 2}, {"ball", 1}};
    CmdResult b = run_eval(args(dir / "strat.jsonl") + " --limit 4 --stratify");
    ASSERT_EQ(b.status, 0) << b.out;
    EXPECT_EQ(json::parse(b.out)["targets"][0]["summary"]["n"], 4);
    const auto [ids, per_label] = ids_of(dir / "strat.jsonl");
    ASSERT_EQ(ids.size(), 4u);
    int total = 0;
    for (const auto& [label, n] : per_label) {
        SCOPED_TRACE(label);
        ASSERT_TRUE(all.count(label));
        EXPECT_GE(2 * n, all.at(label) - 1);  // n within one of half the label's count
        EXPECT_LE(2 * n, all.at(label) + 1);
        total += n;
    }
    EXPECT_EQ(total, 4);
    for (const auto& [label, n] : all) {
        if (n != 2) continue;
        EXPECT_EQ(per_label.count(label) ? per_label.at(label) : 0, 1) << label;  // exactly half
    }
    // The same sample on another run.
    CmdResult c = run_eval(args(dir / "strat2.jsonl") + " --limit 4 --stratify");
    ASSERT_EQ(c.status, 0);
    EXPECT_EQ(ids_of(dir / "strat2.jsonl").first, ids);
    // --stratify without --limit is refused.
    EXPECT_NE(run_eval(args(dir / "bad.jsonl") + " --stratify").status, 0);
}
