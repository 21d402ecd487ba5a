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
};

}  // namespace kinglet::server
