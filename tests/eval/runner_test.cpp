// Targets and the runner: target specs and label matching on hand-written cases; a run with a local
// target and a provider target (the same tiny model behind router::LocalProvider, several requests in
// flight) whose greedy answers must continue each prompt exactly as llama2.c's reference does, written
// in dataset order, with a paired comparison that finds the two targets identical.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "eval/run_report.h"
#include "eval/runner.h"
#include "eval/target.h"
#include "router/local_provider.h"
#include "support/paths.h"

namespace fs = std::filesystem;
using nlohmann::json;
using nlohmann::ordered_json;
using namespace kinglet;

TEST(EvalTarget, ParsesSpecs) {
    auto a = eval::parse_target("local:/m/tiny-q8.gguf");
    EXPECT_EQ(a.kind, eval::TargetSpec::Kind::local);
    EXPECT_EQ(a.path, "/m/tiny-q8.gguf");
    EXPECT_EQ(a.name, "tiny-q8");
    auto b = eval::parse_target("server:http://127.0.0.1:8080#big");
    EXPECT_EQ(b.kind, eval::TargetSpec::Kind::server);
    EXPECT_EQ(b.path, "http://127.0.0.1:8080");
    EXPECT_EQ(b.model, "big");
    EXPECT_EQ(b.name, "big");
    EXPECT_EQ(eval::parse_target("route:triage").kind, eval::TargetSpec::Kind::route);
    EXPECT_EQ(eval::parse_target("remote:openai").name, "openai");
    EXPECT_EQ(eval::parse_target("models/x.GGUF").kind, eval::TargetSpec::Kind::local);
    EXPECT_THROW(eval::parse_target("server:localhost:8080"), Error);
    EXPECT_THROW(eval::parse_target("mystery"), Error);
    EXPECT_THROW(eval::parse_target("route:"), Error);
}

TEST(EvalTarget, MatchesAnswersToLabels) {
    const std::vector<std::string> labels = {"bug", "billing", "feature_request", "bug report"};
    EXPECT_EQ(eval::match_label("bug", labels), 0);
    EXPECT_EQ(eval::match_label("  Billing.\n", labels), 1);
    EXPECT_EQ(eval::match_label("\"feature_request\"", labels), 2);
    EXPECT_EQ(eval::match_label("bug report", labels), 3);          // exact beats prefix
    EXPECT_EQ(eval::match_label("bug report, clearly", labels), 3);  // the longest label it starts with
    EXPECT_EQ(eval::match_label("bug: the app crashes", labels), 0);
    EXPECT_EQ(eval::match_label("bugs", labels), -1);  // a label must end at a word boundary
    EXPECT_EQ(eval::match_label("It is billing", labels), -1);
    EXPECT_EQ(eval::match_label("", labels), -1);
}

TEST(EvalTarget, JudgeVerdicts) {
    EXPECT_EQ(eval::judge_verdict("PASS"), true);
    EXPECT_EQ(eval::judge_verdict(" fail: wrong city"), false);
    EXPECT_EQ(eval::judge_verdict("Verdict: pass (not a fail)"), true);
    EXPECT_EQ(eval::judge_verdict("unsure"), std::nullopt);
    const std::string p = eval::judge_prompt("Be strict.", "2+2?", "4", "four");
    EXPECT_NE(p.find("Be strict."), std::string::npos);
    EXPECT_NE(p.find("four"), std::string::npos);
    EXPECT_EQ(eval::judge_prompt("Q={{ input }} A={{ answer }} R={{ expected }}", "q", ordered_json{{"k", 1}}, "a"),
              "Q=q A=a R={\"k\":1}");
}

TEST(EvalRunner, LocalAndProviderTargetsAgreeWithTheReferenceInDatasetOrder) {
    const fs::path dir = fs::temp_directory_path() / ("kinglet_eval_runner_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const auto model_dir = test::models_dir() / "stories260K";
    const json ref = json::parse(std::ifstream(model_dir / "ref-llama2c-greedy.json"));
    std::vector<std::string> prompts, texts;
    {
        std::ofstream f(dir / "cases.jsonl");
        int id = 0;
        for (const auto& r : ref["results"]) {
            if (r["prompt"].get<std::string>().empty()) continue;
            prompts.push_back(r["prompt"]);
            texts.push_back(r["text"]);
            f << ordered_json{{"id", "p" + std::to_string(id++)}, {"input", r["prompt"]}, {"expected", "Lily"}}.dump()
              << "\n";
        }
    }
    std::shared_ptr<const Model> model = Model::load((model_dir / "model-f32.gguf").string());
    eval::TaskSpec task;
    task.max_tokens = 6;
    EngineOptions eo;
    eo.n_threads = 1;
    eo.kv_type = DType::F32;
    auto local = eval::make_local_target(eval::parse_target("local:" + (model_dir / "model-f32.gguf").string()), model, eo, task);
    router::LocalModelOptions lo;
    lo.engine = eo;
    lo.engine.max_seqs = 4;
    auto provider = std::make_shared<router::LocalProvider>(model, lo);
    auto served = eval::make_provider_target(eval::parse_target("server:http://unused#served"), provider, task);

    eval::RunSettings s;
    s.data = (dir / "cases.jsonl").string();
    s.template_source = "{{ input }}";
    s.task = task;
    s.grader = "contains";
    s.results = (dir / "results.jsonl").string();
    s.header = {{"test", 1}};
    s.jobs = 4;
    s.quiet = true;
    const std::vector<eval::Target*> targets = {local.get(), served.get()};
    const auto out = eval::run_cases(targets, s);
    ASSERT_EQ(out.targets.size(), 2u);
    // The answers are in the results file (the rows held in memory keep what the summaries use).
    std::map<std::string, std::vector<json>> written;
    {
        std::ifstream f(s.results);
        std::string line;
        std::getline(f, line);
        while (std::getline(f, line)) {
            json r = json::parse(line);
            written[r["target"].get<std::string>()].push_back(std::move(r));
        }
    }
    for (size_t t = 0; t < 2; ++t) {
        ASSERT_EQ(out.targets[t].rows.size(), prompts.size());
        const auto& file_rows = written[targets[t]->spec().name];
        ASSERT_EQ(file_rows.size(), prompts.size());
        for (size_t i = 0; i < prompts.size(); ++i) {
            const auto& row = out.targets[t].rows[i];
            EXPECT_EQ(out.targets[t].id(row), file_rows[i]["id"].get<std::string>());
            const std::string pred = file_rows[i]["prediction"];
            SCOPED_TRACE(prompts[i] + " -> " + pred);
            EXPECT_FALSE(pred.empty());
            // Greedy continuation: a prefix of llama2.c's 200-token reference continuation.
            EXPECT_EQ(texts[i].compare(0, pred.size(), pred), 0);
            EXPECT_EQ(row.correct, pred.find("Lily") != std::string::npos);
        }
    }
    // The file: the settings line, then (case, target) rows in dataset order.
    std::ifstream f(s.results);
    std::string line;
    std::getline(f, line);
    EXPECT_EQ(json::parse(line), json(s.header));
    uint64_t last = 0;
    size_t n = 0;
    while (std::getline(f, line)) {
        const json r = json::parse(line);
        EXPECT_GE(r["line"].get<uint64_t>(), last);
        last = r["line"];
        EXPECT_EQ(r["target"], n % 2 == 0 ? "model-f32" : "served");
        ++n;
    }
    EXPECT_EQ(n, 2 * prompts.size());
    eval::ReportOptions ro;
    ro.grader = "contains";
    ro.prices = {eval::Price{1, 2}, std::nullopt};
    const auto rep = eval::run_report(targets, out, ro);
    ASSERT_EQ(rep["comparisons"].size(), 1u);
    EXPECT_EQ(rep["comparisons"][0]["a_only_correct"], 0);
    EXPECT_EQ(rep["comparisons"][0]["b_only_correct"], 0);
    EXPECT_EQ(rep["comparisons"][0]["mcnemar_exact_p"], 1.0);
    ASSERT_TRUE(rep["targets"][0].contains("cost"));
    EXPECT_FALSE(rep["targets"][1].contains("cost"));
    double want = 0;
    for (const auto& row : written[targets[0]->spec().name])
        want += (row["prompt_tokens"].get<double>() * 1 + row["completion_tokens"].get<double>() * 2) / 1e6;
    EXPECT_NEAR(rep["targets"][0]["cost"]["total"].get<double>(), want, 1e-15);
    provider->shutdown(std::chrono::steady_clock::now());
    fs::remove_all(dir);
}

TEST(EvalRunner, JudgeGradingRecordsTheVerdictAndCountsItsCost) {
    const fs::path dir = fs::temp_directory_path() / ("kinglet_eval_judge_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    {
        std::ofstream f(dir / "cases.jsonl");
        f << R"({"id": "a", "input": "Once upon a time", "expected": "a story"})" << "\n"
          << R"({"id": "b", "input": "Lily saw a", "expected": "an animal"})" << "\n"
          << R"({"id": "c", "input": "Tom had a", "expected": "a toy"})" << "\n";
    }
    const auto file = test::models_dir() / "stories260K" / "model-f32.gguf";
    std::shared_ptr<const Model> model = Model::load(file.string());
    eval::TaskSpec task;
    task.max_tokens = 4;
    EngineOptions eo;
    eo.n_threads = 1;
    auto answering = eval::make_local_target(eval::parse_target("local:" + file.string()), model, eo, task);
    router::LocalModelOptions lo;
    lo.engine = eo;
    lo.engine.max_seqs = 3;
    auto provider = std::make_shared<router::LocalProvider>(model, lo);
    eval::TaskSpec jt;
    jt.max_tokens = 3;
    auto judge = eval::make_provider_target(eval::parse_target("server:http://unused#judge"), provider, jt);

    eval::RunSettings s;
    s.data = (dir / "cases.jsonl").string();
    s.template_source = "{{ input }}";
    s.task = task;
    s.grader = "judge";
    s.judge = judge.get();
    s.rubric = "{{ input }}{{ answer }}. The answer is";
    s.header = {{"test", 2}};
    s.results = (dir / "judge.jsonl").string();
    s.jobs = 3;
    s.quiet = true;
    const std::vector<eval::Target*> targets = {answering.get()};
    const auto out = eval::run_cases(targets, s);
    ASSERT_EQ(out.targets[0].rows.size(), 3u);
    int64_t jp = 0, jc = 0;
    std::ifstream f(s.results);
    std::string line;
    std::getline(f, line);
    for (const auto& mem : out.targets[0].rows) {
        ASSERT_TRUE(std::getline(f, line));
        const json row = json::parse(line);  // the file has the judge's reply too
        EXPECT_EQ(row["id"].get<std::string>(), out.targets[0].id(mem));
        EXPECT_EQ(row["correct"].get<bool>(), mem.correct);
        ASSERT_TRUE(row.contains("judge")) << row.dump();
        const auto& j = row["judge"];
        const auto v = eval::judge_verdict(j["reply"].get<std::string>());
        EXPECT_EQ(row["correct"].get<bool>(), v.value_or(false));
        EXPECT_EQ(j["verdict"].is_null(), !v.has_value());
        EXPECT_GT(j["prompt_tokens"].get<int>(), 0);
        EXPECT_GT(j["completion_tokens"].get<int>(), 0);
        jp += j["prompt_tokens"].get<int64_t>();
        jc += j["completion_tokens"].get<int64_t>();
    }
    EXPECT_EQ(out.targets[0].judge_prompt_tokens, jp);
    EXPECT_EQ(out.targets[0].judge_completion_tokens, jc);
    eval::ReportOptions ro;
    ro.grader = "judge";
    ro.prices = {eval::Price{0, 0}};
    ro.judge_price = eval::Price{1e6, 2e6};  // one dollar per prompt token, two per completion token
    const auto rep = eval::run_report(targets, out, ro);
    EXPECT_DOUBLE_EQ(rep["targets"][0]["cost"]["total"].get<double>(), double(jp) + 2.0 * double(jc));
    provider->shutdown(std::chrono::steady_clock::now());
    fs::remove_all(dir);
}
