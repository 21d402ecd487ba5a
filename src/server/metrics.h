// Server metrics in the Prometheus text exposition format (version 0.0.4), served at /metrics.
// Debian ships no Prometheus client library for C++, so this is the small subset kinglet needs:
// labelled counters and histograms kept here, and engine gauges read at scrape time.
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/engine.h"

namespace kinglet::server {

class Histogram {
public:
    explicit Histogram(std::vector<double> bounds);
    void observe(double v);
    // Appends the _bucket/_sum/_count lines; `labels` is `k="v",...` without braces (may be empty).
    void render(std::string& out, std::string_view name, std::string_view labels) const;

private:
    std::vector<double> bounds_;
    std::vector<uint64_t> counts_;  // per bucket (not cumulative); last = +Inf
    double sum_ = 0;
    uint64_t count_ = 0;
};

class Metrics {
public:
    void count_request(std::string_view endpoint, int status);
    void count_cancel(std::string_view model, std::string_view reason);  // disconnect, timeout, shutdown
    void add_tokens(std::string_view model, int prompt, int completion, int cached);
    void observe_ttft(std::string_view model, double seconds);
    void observe_token_latency(std::string_view model, double seconds_per_token);
    void observe_duration(std::string_view endpoint, double seconds);
    // Routing: one call per request answered through a route or a model (provider "" when none served).
    void count_routed(std::string_view route, std::string_view provider, bool escalated, bool budget_limited);
    // Money spent on one attempt, by provider (remote or local).
    void add_spend(std::string_view provider, double usd);
    void count_attempt(std::string_view provider, std::string_view outcome);
    void count_ledger_error();

    struct ModelGauges {
        std::string model;
        EngineStats stats;
        int n_ctx = 0;
        int max_seqs = 0;
    };
    // The whole exposition text; `loading` true while models are still being loaded.
    std::string render(const std::vector<ModelGauges>& models, bool ready) const;

    static std::string escape_label(std::string_view v);

private:
    mutable std::mutex mu_;
    std::map<std::pair<std::string, int>, uint64_t> requests_;
    std::map<std::pair<std::string, std::string>, uint64_t> cancels_;
    struct Tokens {
        uint64_t prompt = 0, completion = 0, cached = 0;
    };
    std::map<std::string, Tokens> tokens_;
    std::map<std::string, Histogram> ttft_, tpot_, duration_;
    std::map<std::pair<std::string, std::string>, uint64_t> routed_;    // (route, provider)
    std::map<std::string, uint64_t> escalated_, budget_limited_;        // by route
    std::map<std::string, double> spend_;                               // by provider
    std::map<std::pair<std::string, std::string>, uint64_t> attempts_;  // (provider, outcome)
    uint64_t ledger_errors_ = 0;
};

}  // namespace kinglet::server
