// The routing sections of kinglet serve's configuration (docs/config.md, docs/routing.md):
//   providers:  remote OpenAI-compatible endpoints with their prices
//   routes:     virtual model names with a policy (cascade, domain, tier, fallback)
//   tenants:    API keys -> tenant, tier, monthly remote budget
//   ledger:     where usage records go (a SQLite file beside the config file unless it says otherwise)
// Read strictly like the rest (server/yaml_reader.h); cross-references (targets naming models,
// providers or routes; cycles) are checked by validate_routing once the whole file is read.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "server/yaml_reader.h"

namespace kinglet::server {

struct PriceConfig {
    double input_per_mtok = 0;   // USD per 1M prompt tokens
    double output_per_mtok = 0;  // USD per 1M completion tokens
    double per_hour_usd = 0;     // local models: the machine's price, divided by measured throughput
};

struct ProviderConfig {
    std::string name;
    std::string base_url;
    std::string api_key_env;     // environment variable holding the key ("" = no key)
    std::string model;           // the remote's model name ("" = the provider's name)
    PriceConfig price;
    double timeout_s = 60;
    double connect_timeout_s = 5;
    int max_retries = 2;
    double retry_backoff_s = 0.25;
    int context_length = 0;
    std::string origin;
};

// Where a route step sends a request: one name (a model, a provider or a route), or an ordered list
// of names tried on errors (an inline fallback).
using Target = std::vector<std::string>;

struct StepConfig {
    Target target;
    std::string signal;          // "" (none: the answer is final unless it fails) | mean_logprob | min_logprob | label_prob
    double min_confidence = 0;   // escalate when the signal is below this (label_prob: a probability; others: a logprob)
    std::string origin;
};

struct DomainConfig {
    std::string name;
    Target target;
    std::vector<std::string> keywords;  // whole words, case-insensitive
    std::vector<std::string> patterns;  // regular expressions (PCRE2), case-insensitive
    std::vector<std::string> examples;  // utterances for the semantic match
    std::string origin;
};

struct RouteConfig {
    std::string name;
    std::string policy;                  // cascade | domain | tier | fallback
    std::vector<std::string> labels;     // classification routes: answers constrained to these
    // cascade
    std::vector<StepConfig> steps;
    // domain
    Target default_target;
    std::vector<DomainConfig> domains;
    std::string embedding_model;         // a local model embedding `examples` and requests
    double min_similarity = 0.5;         // cosine similarity to the nearest centroid, else default
    // tier
    std::map<std::string, Target> tiers;  // tier -> target; "default" when the caller's tier is absent
    // fallback
    Target targets;
    std::string origin;
};

struct TenantConfig {
    std::string name;
    std::vector<std::string> keys;       // key:, keys:, key_env: (resolved), keys_file: (read)
    std::string tier;
    std::optional<double> monthly_remote_usd;  // none = no limit
    bool reject_over_budget = false;     // on_budget_exceeded: reject (429) | serve_local (default)
    std::string origin;
};

struct LedgerConfig {
    std::string url;                     // "" = no ledger (`ledger: off`)
    bool is_default = false;             // the config names no ledger: url is ledger::default_ledger_url
};

struct RoutingConfig {
    std::vector<ProviderConfig> providers;
    std::vector<RouteConfig> routes;
    std::vector<TenantConfig> tenants;
    LedgerConfig ledger;
};

// Section readers (called by parse_config). `base_dir` resolves relative paths.
void read_providers(YamlMap m, std::vector<ProviderConfig>& out);
void read_routes(YamlMap m, std::vector<RouteConfig>& out);
void read_tenants(YamlMap m, std::vector<TenantConfig>& out, const std::string& base_dir);
// `ledger: off`, `ledger: { url: URL }`, or absent/null/`{}` = the default SQLite file in base_dir.
// A URL is checked (scheme, SQLite path) here; relative SQLite paths are made relative to base_dir.
void read_ledger(const YAML::Node& n, const YamlMap& parent, LedgerConfig& out, const std::string& base_dir);
// `price_per_hour_usd` and `price: {input_per_mtok, output_per_mtok}` of a model or provider.
void read_price(YamlMap& m, PriceConfig& out, bool allow_hourly);

// Names must be unique across models, providers and routes; every target must exist; routes must not
// refer to themselves through other routes; a semantic domain route's embedding model must be local.
void validate_routing(const RoutingConfig& r, const std::vector<std::string>& model_names);

}  // namespace kinglet::server
