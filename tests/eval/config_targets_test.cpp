// Targets from a kinglet config file, read by the server's own parser: a cascade route's steps for
// --calibrate (models, providers, inline fallback lists, prices), route:NAME run in-process through the
// router with who answered, escalation and cost recorded per case, and writing a calibrated threshold
// back into the file in place.
#include "eval/config_targets.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "eval/config_threshold.h"
#include "support/paths.h"

namespace fs = std::filesystem;
using namespace kinglet;

namespace {
struct TempConfig {
    fs::path dir = fs::temp_directory_path() / ("kinglet_config_targets_" + std::to_string(::getpid()));
    fs::path file = dir / "kinglet.yaml";
    explicit TempConfig(const std::string& text) {
        fs::create_directories(dir);
        std::ofstream(file) << text;
    }
    ~TempConfig() { fs::remove_all(dir); }
    std::string text() const {
        std::ifstream in(file);
        std::ostringstream ss;
        ss << in.rdbuf();
        return ss.str();
    }
};

const char* kFlow = R"(# comment kept
models:
  small: { path: models/small.gguf, price: { input_per_mtok: 0.02, output_per_mtok: 0.04 } }
  cheap: { path: models/cheap.gguf, price_per_hour_usd: 0.3 }
providers:
  large:
    base_url: https://api.example.com/v1
    model: frontier
    price: { input_per_mtok: 1.25, output_per_mtok: 10 }
  backup: { base_url: "https://backup.example.com/v1", price: { input_per_mtok: 3, output_per_mtok: 15 } }
routes:
  triage:
    policy: cascade
    labels: [billing, bug]
    steps:
      - { target: small, signal: mean_logprob, min_confidence: -0.80 }   # tuned by hand
      - { target: large }
  listed:
    policy: cascade
    labels: [billing, bug]
    steps:
      - { target: cheap, signal: label_prob, min_confidence: 0.5 }
      - { target: [large, backup] }
  plain:
    policy: tier
    tiers: { free: small, paid: large }
  one:
    policy: cascade
    steps:
      - { target: small }
)";
}  // namespace

TEST(ConfigTargets, CalibrationRouteFromTheServerParser) {
    TempConfig c(kFlow);
    const eval::ConfigTargets ct(c.file.string(), 1, true);
    const auto r = ct.calibration_route("triage");
    EXPECT_EQ(r.labels, (std::vector<std::string>{"billing", "bug"}));
    EXPECT_EQ(r.small.name, "small");
    // A model step runs as the route runs it (the router's local provider), not eval's own classifier.
    EXPECT_EQ(r.small.target.kind, eval::TargetSpec::Kind::model);
    EXPECT_EQ(r.small.target.path, "small");
    EXPECT_EQ(r.small.target.name, "small");
    EXPECT_EQ(ct.config().models.at(0).path,
              (c.dir / "models/small.gguf").string());  // relative to the config file
    EXPECT_EQ(r.large.target.kind, eval::TargetSpec::Kind::remote);
    EXPECT_EQ(r.large.target.path, "large");
    ASSERT_TRUE(r.small.price && r.large.price);
    EXPECT_EQ(r.small.price->output_per_mtok, 0.04);
    EXPECT_EQ(r.large.price->input_per_mtok, 1.25);
    EXPECT_FALSE(r.small.usd_per_hour);
    EXPECT_EQ(r.signal, "mean_logprob");
    EXPECT_EQ(r.min_confidence, -0.8);
}

TEST(ConfigTargets, CalibrationStepThatIsAFallbackList) {
    TempConfig c(kFlow);
    const eval::ConfigTargets ct(c.file.string(), 1, true);
    const auto r = ct.calibration_route("listed");
    EXPECT_EQ(r.small.usd_per_hour, 0.3);
    EXPECT_FALSE(r.small.price);  // hourly: no per-token price
    EXPECT_EQ(r.large.target.kind, eval::TargetSpec::Kind::route);
    EXPECT_EQ(r.large.target.fallback, (std::vector<std::string>{"large", "backup"}));
    EXPECT_EQ(r.large.name, "large|backup");
    ASSERT_TRUE(r.large.price);  // the first provider's
    EXPECT_EQ(r.large.price->output_per_mtok, 10);
}

TEST(ConfigTargets, Refusals) {
    TempConfig c(kFlow);
    eval::ConfigTargets ct(c.file.string(), 1, true);
    auto message = [](auto&& f) {
        try {
            f();
        } catch (const Error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_NE(message([&] { ct.calibration_route("plain"); }).find("tier route"), std::string::npos);
    EXPECT_NE(message([&] { ct.calibration_route("one"); }).find("at least two steps"), std::string::npos);
    EXPECT_NE(message([&] { ct.calibration_route("missing"); }).find("no route 'missing'"),
              std::string::npos);
    EXPECT_NE(message([&] { ct.provider(eval::parse_target("remote:nope")); }).find("no provider 'nope'"),
              std::string::npos);
    EXPECT_NE(message([&] { ct.provider(eval::parse_target("route:nope")); }).find("no route 'nope'"),
              std::string::npos);
    EXPECT_NE(message([&] { ct.provider(eval::parse_target("model:large")); }).find("no model 'large'"),
              std::string::npos);
    // remote: names a provider, not a route.
    EXPECT_NE(message([&] { ct.provider(eval::parse_target("remote:triage")); }).find("no provider 'triage'"),
              std::string::npos);
    EXPECT_THROW(eval::ConfigTargets((c.dir / "none.yaml").string(), 1, true), Error);
    // The server's validation: a route naming nothing declared.
    TempConfig bad(
        "models:\n  a: { path: a.gguf }\nroutes:\n  r: { policy: fallback, targets: [a, ghost] }\n");
    EXPECT_NE(message([&] { eval::ConfigTargets(bad.file.string(), 1, true); }).find("ghost"),
              std::string::npos);
}

TEST(ConfigTargets, ProviderNeedsItsKeyOnlyWhenUsed) {
    // A provider whose key variable is unset is an error only for a run that reaches it.
    ::unsetenv("KINGLET_TEST_UNSET_KEY");
    TempConfig c(
        "providers:\n  a: { base_url: \"http://127.0.0.1:9/v1\" }\n"
        "  b: { base_url: \"http://127.0.0.1:9/v1\", api_key_env: KINGLET_TEST_UNSET_KEY }\n");
    eval::ConfigTargets ct(c.file.string(), 1, true);
    EXPECT_NO_THROW(ct.provider(eval::parse_target("remote:a")));
    EXPECT_THROW(ct.provider(eval::parse_target("remote:b")), Error);
}

// route:NAME in-process: the tiny model as both steps, priced per token; a threshold no answer reaches
// escalates every case, a threshold of 0 none. Cost is the steps' tokens at their prices.
TEST(ConfigTargets, RouteTargetRecordsWhoAnsweredEscalationAndCost) {
    const auto models = test::models_dir() / "stories260K";
    TempConfig c(
        "models:\n"
        "  small: { path: " +
        (models / "model-q8_0.gguf").string() +
        ", parallel: 2, threads: 1, price: { input_per_mtok: 2, output_per_mtok: 4 } }\n"
        "  large: { path: " +
        (models / "model-f32.gguf").string() +
        ", parallel: 2, threads: 1, price: { input_per_mtok: 100, output_per_mtok: 300 } }\n"
        "routes:\n"
        "  up:\n    policy: cascade\n    labels: [girl, boy, dog]\n    steps:\n"
        "      - { target: small, signal: label_prob, min_confidence: 1 }\n      - { target: large }\n"
        "  stay:\n    policy: cascade\n    labels: [girl, boy, dog]\n    steps:\n"
        "      - { target: small, signal: label_prob, min_confidence: 0 }\n      - { target: large }\n");
    eval::ConfigTargets ct(c.file.string(), 1, true);
    eval::TaskSpec task;
    task.labels = {"girl", "boy", "dog"};
    const eval::CaseInput in{"Once upon a time there was a little", nullptr};
    for (const std::string name : {"up", "stay"}) {
        auto spec = eval::parse_target("route:" + name);
        auto t = eval::make_provider_target(spec, ct.provider(spec), task);
        const eval::Answer a = t->start(in).get();
        ASSERT_TRUE(a.error.empty()) << a.error;
        ASSERT_TRUE(a.escalated.has_value());
        const bool up = name == "up";
        EXPECT_EQ(*a.escalated, up);
        EXPECT_EQ(a.provider, up ? "large" : "small");
        ASSERT_GE(a.predicted, 0);  // a local step answers under the label constraint
        // The served answer's confidence is the small step's when it stayed; the large step has no signal.
        EXPECT_EQ(a.confidence.has_value(), !up);
        ASSERT_EQ(a.attempts.size(), up ? 2u : 1u);
        EXPECT_EQ(a.attempts[0]["provider"], "small");
        ASSERT_TRUE(
            a.attempts[0].contains("confidence"));  // the small step's label probability, escalated or not
        EXPECT_LT(a.attempts[0]["confidence"].get<double>(), 1.0);
        EXPECT_EQ(a.attempts[0]["outcome"], up ? "low_confidence" : "ok");
        double want = 0;
        for (const auto& at : a.attempts) {
            const bool large = at["provider"] == "large";
            want += (at["prompt_tokens"].get<double>() * (large ? 100 : 2) +
                     at["completion_tokens"].get<double>() * (large ? 300 : 4)) /
                    1e6;
            EXPECT_GT(at["prompt_tokens"].get<int>(), 0);
        }
        ASSERT_TRUE(a.cost_usd.has_value());
        EXPECT_NEAR(*a.cost_usd, want, 1e-12);
        if (!up) {
            // The route served the small step's label with its probability over the label set.
            EXPECT_GT(a.label_prob, 0.0);
            EXPECT_LE(a.label_prob, 1.0);
            EXPECT_NEAR(a.label_prob, *a.confidence, 1e-12);
            EXPECT_EQ(a.signal, "label_prob");
        }
    }
}

// A cascade step that is a fallback list runs as the router runs it: a provider that refuses the
// connection is tried first and recorded, the local model answers.
TEST(ConfigTargets, FallbackListStepRunsThroughTheRouter) {
    const auto models = test::models_dir() / "stories260K";
    TempConfig c(
        "models:\n"
        "  small: { path: " +
        (models / "model-q8_0.gguf").string() +
        ", parallel: 2, threads: 1, price: { input_per_mtok: 2, output_per_mtok: 4 } }\n"
        "providers:\n"
        "  down: { base_url: \"http://127.0.0.1:1/v1\", max_retries: 0, connect_timeout_s: 2, "
        "price: { input_per_mtok: 50, output_per_mtok: 50 } }\n"
        "routes:\n"
        "  r:\n    policy: cascade\n    labels: [girl, boy, dog]\n    steps:\n"
        "      - { target: small, signal: label_prob, min_confidence: 0.5 }\n      - { target: [down, small] "
        "}\n");
    eval::ConfigTargets ct(c.file.string(), 1, true);
    const auto route = ct.calibration_route("r");
    EXPECT_EQ(route.small.target.kind, eval::TargetSpec::Kind::model);
    ASSERT_EQ(route.large.target.fallback, (std::vector<std::string>{"down", "small"}));
    EXPECT_EQ(route.large.price->input_per_mtok, 50);  // the list's first entry
    eval::TaskSpec task;
    task.labels = {"girl", "boy", "dog"};
    auto t = eval::make_provider_target(route.large.target, ct.provider(route.large.target), task);
    const eval::Answer a = t->start({"Once upon a time there was a little", nullptr}).get();
    ASSERT_TRUE(a.error.empty()) << a.error;
    EXPECT_EQ(a.provider, "small");
    ASSERT_GE(a.predicted, 0);
    ASSERT_EQ(a.attempts.size(), 2u);
    EXPECT_EQ(a.attempts[0]["provider"], "down");
    EXPECT_EQ(a.attempts[0]["outcome"], "error");
    EXPECT_EQ(a.attempts[0]["cost_usd"], 0.0);  // nothing was answered, nothing is paid
    EXPECT_EQ(a.attempts[1]["provider"], "small");
    EXPECT_EQ(a.attempts[1]["outcome"], "ok");
    ASSERT_TRUE(a.cost_usd.has_value());
    EXPECT_NEAR(*a.cost_usd,
                (a.attempts[1]["prompt_tokens"].get<double>() * 2 +
                 a.attempts[1]["completion_tokens"].get<double>() * 4) /
                    1e6,
                1e-12);
    // The model step alone, as the calibration runs it: the label and its probability over the set.
    auto small = eval::make_provider_target(route.small.target, ct.provider(route.small.target), task);
    const eval::Answer s = small->start({"Once upon a time there was a little", nullptr}).get();
    ASSERT_TRUE(s.error.empty()) << s.error;
    EXPECT_EQ(s.provider, "small");
    EXPECT_FALSE(s.escalated.has_value());  // not a route
    EXPECT_TRUE(s.attempts.is_null());
    EXPECT_GT(s.label_prob, 0.0);
    EXPECT_LE(s.label_prob, 1.0);
}

TEST(ConfigThreshold, WritesTheThresholdInPlace) {
    TempConfig c(kFlow);
    eval::write_cascade_threshold(c.file.string(), "triage", -0.4375);
    std::string want = kFlow;
    want.replace(want.find("-0.80 }"), 5, "-0.4375");
    EXPECT_EQ(c.text(), want);
    // The server's parser reads the new value.
    EXPECT_EQ(eval::ConfigTargets(c.file.string(), 1, true).calibration_route("triage").min_confidence,
              -0.4375);
}

TEST(ConfigThreshold, AddsAMissingThreshold) {
    {
        TempConfig c(
            "routes:\n  r:\n    policy: cascade\n    labels: [x, y]\n    steps:\n      - { target: a, "
            "signal: label_prob }\n"
            "      - { target: b }\nmodels:\n  a: { path: a.gguf }\n  b: { path: b.gguf }\n");
        eval::write_cascade_threshold(c.file.string(), "r", 0.5);
        EXPECT_NE(c.text().find("- { target: a, signal: label_prob, min_confidence: 0.5 }\n"),
                  std::string::npos);
    }
    {
        TempConfig c(
            "routes:\n  r:\n    policy: cascade\n    labels: [x, y]\n    steps:\n      - target: a\n        "
            "signal: label_prob\n"
            "      - target: b\nmodels:\n  a: { path: a.gguf }\n  b: { path: b.gguf }\n");
        eval::write_cascade_threshold(c.file.string(), "r", 0.25);
        EXPECT_NE(
            c.text().find("      - target: a\n        min_confidence: 0.25\n        signal: label_prob\n"),
            std::string::npos)
            << c.text();
        EXPECT_EQ(eval::ConfigTargets(c.file.string(), 1, true).calibration_route("r").min_confidence, 0.25);
    }
    {
        TempConfig c("routes:\n  r: { policy: tier, tiers: { free: a } }\nmodels:\n  a: { path: a.gguf }\n");
        EXPECT_THROW(eval::write_cascade_threshold(c.file.string(), "r", 0.5), Error);
        EXPECT_THROW(eval::write_cascade_threshold(c.file.string(), "missing", 0.5), Error);
    }
}
