// The routing sections of the configuration (providers, routes, tenants, ledger): every field read,
// and every mistake reported with file:line:column and what is wrong.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "core/error.h"
#include "server/config.h"
#include "support/paths.h"

namespace kinglet::server {
namespace {

const char* kHead = R"(
models:
  small: { path: s.gguf, price_per_hour_usd: 0.2 }
providers:
  large:
    base_url: https://api.example.com/v1
    model: frontier-model
    price: { input_per_mtok: 1.25, output_per_mtok: 10.00 }
    timeout_s: 30
    max_retries: 3
    retry_backoff_s: 0.5
    connect_timeout_s: 2
)";

Config parse(const std::string& rest) {
    Config c = parse_config(std::string(kHead) + rest, "t.yaml", "/cfg");
    validate(c);
    return c;
}

std::string error_of(const std::string& rest) {
    try {
        parse(rest);
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

TEST(RoutingConfig, TheIssueSketch) {
    setenv("KINGLET_TEST_ACME_KEY", "sk-acme", 1);
    Config c = parse(R"(
routes:
  triage:
    policy: cascade
    labels: [billing, bug, feature_request, account, other]
    steps:
      - { target: small, signal: label_prob, min_confidence: 0.80 }
      - { target: [large, small] }
  support:
    policy: domain
    default: small
    embedding_model: small
    min_similarity: 0.6
    domains:
      billing: { target: large, keywords: [invoice, refund], examples: ["I was charged twice"] }
      legal: { target: large, patterns: ["gdpr|privacy"] }
  chat: { policy: tier, tiers: { free: small, paid: large } }
  safe: { policy: fallback, targets: [large, small] }
tenants:
  acme: { key_env: KINGLET_TEST_ACME_KEY, tier: paid, monthly_remote_usd: 200, on_budget_exceeded: reject }
  free: { keys: [k1, k2] }
ledger: { url: "sqlite://ledger.db" }
)");
    ASSERT_EQ(c.models.size(), 1u);
    EXPECT_DOUBLE_EQ(c.models[0].price.per_hour_usd, 0.2);
    ASSERT_EQ(c.routing.providers.size(), 1u);
    const auto& p = c.routing.providers[0];
    EXPECT_EQ(p.base_url, "https://api.example.com/v1");
    EXPECT_EQ(p.model, "frontier-model");
    EXPECT_DOUBLE_EQ(p.price.input_per_mtok, 1.25);
    EXPECT_DOUBLE_EQ(p.price.output_per_mtok, 10);
    EXPECT_DOUBLE_EQ(p.timeout_s, 30);
    EXPECT_EQ(p.max_retries, 3);
    EXPECT_DOUBLE_EQ(p.retry_backoff_s, 0.5);
    EXPECT_DOUBLE_EQ(p.connect_timeout_s, 2);
    ASSERT_EQ(c.routing.routes.size(), 4u);
    const auto& t = c.routing.routes[0];
    EXPECT_EQ(t.policy, "cascade");
    EXPECT_EQ(t.labels.size(), 5u);
    ASSERT_EQ(t.steps.size(), 2u);
    EXPECT_EQ(t.steps[0].target, (Target{"small"}));
    EXPECT_EQ(t.steps[0].signal, "label_prob");
    EXPECT_DOUBLE_EQ(t.steps[0].min_confidence, 0.8);
    EXPECT_EQ(t.steps[1].target, (Target{"large", "small"}));
    const auto& s = c.routing.routes[1];
    EXPECT_EQ(s.default_target, (Target{"small"}));
    EXPECT_EQ(s.embedding_model, "small");
    EXPECT_DOUBLE_EQ(s.min_similarity, 0.6);
    ASSERT_EQ(s.domains.size(), 2u);
    EXPECT_EQ(s.domains[0].keywords, (std::vector<std::string>{"invoice", "refund"}));
    EXPECT_EQ(s.domains[0].examples, (std::vector<std::string>{"I was charged twice"}));
    EXPECT_EQ(s.domains[1].patterns, (std::vector<std::string>{"gdpr|privacy"}));
    EXPECT_EQ(c.routing.routes[2].tiers.at("paid"), (Target{"large"}));
    EXPECT_EQ(c.routing.routes[3].targets, (Target{"large", "small"}));
    ASSERT_EQ(c.routing.tenants.size(), 2u);
    EXPECT_EQ(c.routing.tenants[0].keys, (std::vector<std::string>{"sk-acme"}));
    EXPECT_EQ(c.routing.tenants[0].tier, "paid");
    EXPECT_DOUBLE_EQ(*c.routing.tenants[0].monthly_remote_usd, 200);
    EXPECT_TRUE(c.routing.tenants[0].reject_over_budget);
    EXPECT_EQ(c.routing.tenants[1].tier, "default");
    EXPECT_FALSE(c.routing.tenants[1].monthly_remote_usd);
    EXPECT_FALSE(c.routing.tenants[1].reject_over_budget);
    EXPECT_EQ(c.routing.ledger.url, "sqlite:///cfg/ledger.db");  // relative to the config file
}

TEST(RoutingConfig, MistakesNameTheirPlace) {
    EXPECT_EQ(error_of("routes:\n  r: { policy: fallback, targets: [small], extra: 1 }\n"),
              "t.yaml:14:44: unknown key 'extra' in routes.r (allowed: labels, policy, targets)");
    EXPECT_NE(error_of("routes:\n  r: { policy: magic }\n").find("t.yaml:14:16: routes.r.policy: unknown policy 'magic'"),
              std::string::npos);
    EXPECT_NE(error_of("routes:\n  r: { policy: fallback, targets: [nowhere] }\n").find("names 'nowhere', which is not"),
              std::string::npos);
    EXPECT_NE(error_of("routes:\n  r: { policy: cascade, steps: [{ target: small, signal: label_prob, min_confidence: 0.5 }, large] }\n")
                  .find("signal label_prob needs the route's labels"),
              std::string::npos);
    EXPECT_NE(error_of("routes:\n  r: { policy: cascade, steps: [small, large] }\n").find("every step but the last needs a signal"),
              std::string::npos);
    EXPECT_NE(error_of("routes:\n  r: { policy: cascade, labels: [a], steps: [{ target: small, signal: label_prob, min_confidence: 1.5 }, large] }\n")
                  .find("a probability"),
              std::string::npos);
    EXPECT_NE(error_of("routes:\n  r: { policy: cascade, steps: [{ target: small, signal: mean_logprob, min_confidence: 0.5 }, large] }\n")
                  .find("a log-probability threshold is <= 0"),
              std::string::npos);
    EXPECT_NE(error_of("routes:\n  a: { policy: fallback, targets: [b] }\n  b: { policy: tier, tiers: { free: a } }\n")
                  .find("refers to itself: a -> b -> a"),
              std::string::npos);
    EXPECT_NE(error_of("routes:\n  large: { policy: fallback, targets: [small] }\n").find("the name is already a provider"),
              std::string::npos);
    EXPECT_NE(error_of("routes:\n  d: { policy: domain, default: small, domains: { x: { target: large, examples: [hi] } } }\n")
                  .find("need the route's embedding_model"),
              std::string::npos);
    EXPECT_NE(error_of("routes:\n  d: { policy: domain, default: small, embedding_model: large, domains: { x: { target: large, examples: [hi] } } }\n")
                  .find("must be a local model"),
              std::string::npos);
    unsetenv("KINGLET_TEST_NO_SUCH_KEY");
    EXPECT_NE(error_of("tenants:\n  t: { key_env: KINGLET_TEST_NO_SUCH_KEY }\n").find("t.yaml:14:17: tenants.t.key_env: environment variable KINGLET_TEST_NO_SUCH_KEY is not set"),
              std::string::npos);
    EXPECT_NE(error_of("tenants:\n  t: { tier: paid }\n").find("a tenant needs key"), std::string::npos);
    EXPECT_NE(error_of("tenants:\n  t: { key: a, on_budget_exceeded: shrug }\n").find("must be serve_local or reject"),
              std::string::npos);
    EXPECT_NE(error_of("tenants:\n  t: { key: a }\n  u: { key: a }\n").find("also tenant 't''s"), std::string::npos);
    EXPECT_NE(error_of("providers:\n  x: { base_url: ftp://x }\n").find("duplicate key 'providers'"), std::string::npos);
    EXPECT_NE(error_of("ledger: { url: a.db, path: b }\n").find("unknown key 'path' in ledger"), std::string::npos);
}

// The ledger is on unless the file says `ledger: off`: by default a SQLite file beside the config file.
TEST(RoutingConfig, LedgerDefaultsToASqliteFileBesideTheConfig) {
    const Config none = parse("");
    EXPECT_EQ(none.routing.ledger.url, "sqlite:///cfg/kinglet-ledger.db");
    EXPECT_TRUE(none.routing.ledger.is_default);
    EXPECT_EQ(parse("ledger:\n").routing.ledger.url, "sqlite:///cfg/kinglet-ledger.db");  // null: the default
    EXPECT_EQ(parse("ledger: {}\n").routing.ledger.url, "sqlite:///cfg/kinglet-ledger.db");
    const Config off = parse("ledger: off\n");
    EXPECT_EQ(off.routing.ledger.url, "");
    EXPECT_FALSE(off.routing.ledger.is_default);
    const Config pg = parse("ledger: { url: 'postgresql://kinglet@db/ledger?sslmode=require' }\n");
    EXPECT_EQ(pg.routing.ledger.url, "postgresql://kinglet@db/ledger?sslmode=require");
    EXPECT_FALSE(pg.routing.ledger.is_default);
    EXPECT_EQ(parse("ledger: { url: data/l.db }\n").routing.ledger.url, "sqlite:///cfg/data/l.db");
    EXPECT_EQ(parse("ledger: { url: 'sqlite:///var/l.db' }\n").routing.ledger.url, "sqlite:///var/l.db");
    // A config file in the working directory ("." as its folder): the absolute path of ./kinglet-ledger.db.
    const Config here = parse_config("models: { s: s.gguf }\n", "k.yaml", ".");
    EXPECT_EQ(here.routing.ledger.url, "sqlite://" + (std::filesystem::current_path() / "kinglet-ledger.db").string());

    EXPECT_EQ(error_of("ledger: on\n"),
              "t.yaml:13:9: ledger: expected off (no ledger) or a mapping { url: sqlite://PATH | postgresql://... }");
    EXPECT_EQ(error_of("ledger: [a]\n"), "t.yaml:13:9: ledger must be a mapping (key: value lines)");
    EXPECT_NE(error_of("ledger: { url: 'mysql://h/db' }\n").find("t.yaml:13:16: ledger.url: ledger URL 'mysql://h/db': unknown scheme"),
              std::string::npos)
        << error_of("ledger: { url: 'mysql://h/db' }\n");
    EXPECT_NE(error_of("ledger: { url: 'sqlite://' }\n").find("names no file"), std::string::npos);
}

// The complete ticket-triage example of docs/routing.md is a configuration kinglet accepts, read as
// the page says (a user copies it with its keys file beside it).
TEST(RoutingConfig, TheDocumentedTicketTriageExampleIsValid) {
    std::ifstream in(test::source_dir() / "docs" / "routing.md");
    ASSERT_TRUE(in);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string doc = ss.str();
    const size_t section = doc.find("## Ticket triage");
    ASSERT_NE(section, std::string::npos);
    const size_t begin = doc.find("```yaml\n", section);
    ASSERT_NE(begin, std::string::npos);
    const size_t end = doc.find("\n```", begin + 8);
    ASSERT_NE(end, std::string::npos);
    const std::string yaml = doc.substr(begin + 8, end - begin - 8 + 1);

    const auto dir = std::filesystem::temp_directory_path() / ("kinglet-docs-" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "trial-keys.txt") << "# one key per line\nsk-trial-1\nsk-trial-2\n";
    setenv("ACME_KEY", "sk-acme-docs", 1);
    Config c;
    std::string error;
    try {
        c = parse_config(yaml, "docs/routing.md", dir.string());
        validate(c);
    } catch (const Error& e) {
        error = e.what();
    }
    unsetenv("ACME_KEY");
    std::filesystem::remove_all(dir);
    ASSERT_EQ(error, "");
    ASSERT_EQ(c.routing.routes.size(), 1u);
    const auto& triage = c.routing.routes[0];
    EXPECT_EQ(triage.name, "triage");
    EXPECT_EQ(triage.labels.size(), 5u);
    ASSERT_EQ(triage.steps.size(), 2u);
    EXPECT_EQ(triage.steps[0].signal, "label_prob");
    EXPECT_DOUBLE_EQ(triage.steps[0].min_confidence, 0.80);
    EXPECT_EQ(triage.steps[1].target, (Target{"large", "backup"}));
    ASSERT_EQ(c.routing.tenants.size(), 2u);
    EXPECT_EQ(c.routing.tenants[0].keys, (std::vector<std::string>{"sk-acme-docs"}));
    EXPECT_EQ(c.routing.tenants[1].keys, (std::vector<std::string>{"sk-trial-1", "sk-trial-2"}));
    EXPECT_TRUE(c.routing.tenants[1].reject_over_budget);
    EXPECT_DOUBLE_EQ(c.models[0].price.per_hour_usd, 0.20);
    EXPECT_EQ(c.routing.ledger.url, "sqlite://" + (dir / "kinglet-ledger.db").string());
}

TEST(RoutingConfig, ProvidersAloneAreEnoughButNeedAnHttpUrl) {
    Config c = parse_config("providers:\n  x: { base_url: 'http://h/v1' }\n", "p.yaml", "/cfg");
    EXPECT_NO_THROW(validate(c));
    EXPECT_EQ(c.routing.providers[0].model, "x");  // the remote model name defaults to the provider's
    try {
        parse_config("providers:\n  x: { base_url: 'ftp://x' }\n", "p.yaml", "/cfg");
        FAIL() << "ftp accepted";
    } catch (const Error& e) {
        EXPECT_STREQ(e.what(), "p.yaml:2:18: providers.x.base_url: must start with http:// or https://");
    }
}

}  // namespace
}  // namespace kinglet::server
