// The config file of `kinglet eval --config FILE`: the same file `kinglet serve` reads, parsed by the
// server's own reader (server/config.h) and turned into running objects by the server's own setup
// (server/routing_setup.h), so a `remote:NAME` target is the provider a route would call, a
// `model:NAME` target the local model as the server runs it, and a `route:NAME` target the route that
// will serve production, run in this process.
//
// Only what the requested targets reach is built: a route's steps, domains, tiers and fallbacks, the
// providers and local models they name (loaded with their `models:` settings). A provider the run
// never calls needs no API key.
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "eval/cascade_report.h"
#include "eval/target.h"
#include "router/provider.h"
#include "router/registry.h"
#include "server/config.h"

namespace kinglet::eval {

// One step of a cascade route as `kinglet eval --calibrate` runs it.
struct CalibrationStep {
    std::string name;              // the step's target as written ("a" or "a|b" for a fallback list)
    TargetSpec target;             // model:NAME, remote:NAME, route:NAME, or a fallback list
    std::optional<Price> price;    // the config's per-token price of the (first) target
    std::optional<double> usd_per_hour;  // a model's price_per_hour_usd
};

struct CalibrationRoute {
    std::string route;
    std::vector<std::string> labels;
    CalibrationStep small, large;  // the first two steps
    std::string signal;            // the first step's signal ("" when it has none)
    std::optional<double> min_confidence;
};

class ConfigTargets {
public:
    // Reads and validates `path` (server::load_config, server::validate). Throws Error as they do.
    // `threads` > 0 overrides the threads of every local model the run loads.
    ConfigTargets(const std::string& path, int threads, bool quiet);
    ~ConfigTargets();

    const server::Config& config() const { return cfg_; }
    const std::string& path() const { return cfg_.path; }

    // The provider behind a remote:, route: or model: target (a route's inline fallback list when
    // spec.fallback is set), with every provider, route and local model it reaches built and loaded.
    // Throws Error(invalid_argument) naming the file for a name that is not a provider (remote:), route
    // (route:) or model (model:) of the file.
    std::shared_ptr<router::Provider> provider(const TargetSpec& spec);

    // The cascade route `route`: its first two steps as eval targets, with prices. Throws
    // Error(invalid_argument) naming the file for a route that is missing, not a cascade, or has fewer
    // than two steps.
    CalibrationRoute calibration_route(const std::string& route) const;

private:
    void build(const std::vector<std::string>& names);

    server::Config cfg_;
    int threads_;
    bool quiet_;
    std::shared_ptr<router::Registry> registry_;
    std::set<std::string> built_;
};

}  // namespace kinglet::eval
