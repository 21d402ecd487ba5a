// Reading a cascade route from a config file and writing its threshold back in place: the value is
// replaced where it stands (flow or block style), or added when missing; nothing else in the file moves.
#include "eval/cascade_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace fs = std::filesystem;
using namespace kinglet;

namespace {
struct TempConfig {
    fs::path dir = fs::temp_directory_path() / ("kinglet_cascade_cfg_" + std::to_string(::getpid()));
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
providers:
  large:
    base_url: https://api.example.com/v1
    model: frontier
    price: { input_per_mtok: 1.25, output_per_mtok: 10 }
routes:
  triage:
    policy: cascade
    labels: [billing, bug]
    steps:
      - { target: small, signal: margin, min_confidence: 0.80 }   # tuned by hand
      - { target: large }
  plain:
    policy: tier
)";
}  // namespace

TEST(CascadeConfig, ReadsTheRoute) {
    TempConfig c(kFlow);
    const auto r = eval::read_cascade_route(c.file.string(), "triage");
    EXPECT_EQ(r.labels, (std::vector<std::string>{"billing", "bug"}));
    EXPECT_EQ(r.small.name, "small");
    EXPECT_EQ(r.small.target.kind, eval::TargetSpec::Kind::local);
    EXPECT_EQ(r.small.target.path, (c.dir / "models/small.gguf").string());  // relative to the config file
    EXPECT_EQ(r.large.target.kind, eval::TargetSpec::Kind::remote);
    EXPECT_EQ(r.large.target.path, "large");
    ASSERT_TRUE(r.small.price && r.large.price);
    EXPECT_EQ(r.small.price->output_per_mtok, 0.04);
    EXPECT_EQ(r.large.price->input_per_mtok, 1.25);
    EXPECT_EQ(r.signal, "margin");
    EXPECT_EQ(r.min_confidence, 0.8);
    EXPECT_THROW(eval::read_cascade_route(c.file.string(), "plain"), Error);    // not a cascade
    EXPECT_THROW(eval::read_cascade_route(c.file.string(), "missing"), Error);
    EXPECT_THROW(eval::read_cascade_route((c.dir / "none.yaml").string(), "triage"), Error);
}

TEST(CascadeConfig, WritesTheThresholdInPlace) {
    TempConfig c(kFlow);
    eval::write_cascade_threshold(c.file.string(), "triage", 0.4375);
    std::string want = kFlow;
    want.replace(want.find("0.80 }"), 4, "0.4375");
    EXPECT_EQ(c.text(), want);
    EXPECT_EQ(eval::read_cascade_route(c.file.string(), "triage").min_confidence, 0.4375);
}

TEST(CascadeConfig, AddsAMissingThreshold) {
    {
        TempConfig c("routes:\n  r:\n    policy: cascade\n    steps:\n      - { target: a, signal: label_prob }\n"
                     "      - { target: b }\nmodels:\n  a: { path: a.gguf }\n  b: { path: b.gguf }\n");
        eval::write_cascade_threshold(c.file.string(), "r", 0.5);
        EXPECT_NE(c.text().find("- { target: a, signal: label_prob, min_confidence: 0.5 }\n"), std::string::npos);
    }
    {
        TempConfig c("routes:\n  r:\n    policy: cascade\n    steps:\n      - target: a\n        signal: label_prob\n"
                     "      - target: b\nmodels:\n  a: { path: a.gguf }\n  b: { path: b.gguf }\n");
        eval::write_cascade_threshold(c.file.string(), "r", 0.25);
        EXPECT_NE(c.text().find("      - target: a\n        min_confidence: 0.25\n        signal: label_prob\n"),
                  std::string::npos)
            << c.text();
        EXPECT_EQ(eval::read_cascade_route(c.file.string(), "r").min_confidence, 0.25);
    }
}
