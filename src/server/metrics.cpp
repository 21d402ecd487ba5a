#include "server/metrics.h"

#include <fmt/format.h>

#include <algorithm>

namespace kinglet::server {

namespace {

const std::vector<double> kTtftBounds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
const std::vector<double> kTpotBounds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};
const std::vector<double> kDurationBounds = {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600};

std::string num(double v) { return fmt::format("{}", v); }

Histogram& hist(std::map<std::string, Histogram>& m, std::string_view key, const std::vector<double>& bounds) {
    auto it = m.find(std::string(key));
    if (it == m.end()) it = m.emplace(std::string(key), Histogram(bounds)).first;
    return it->second;
}

void help(std::string& out, std::string_view name, std::string_view type, std::string_view text) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, text, name, type);
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double v) {
    const size_t i = size_t(std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
    counts_[i]++;
    sum_ += v;
    count_++;
}

void Histogram::render(std::string& out, std::string_view name, std::string_view labels) const {
    const std::string sep = labels.empty() ? "" : ",";
    uint64_t cum = 0;
    for (size_t i = 0; i < bounds_.size(); ++i) {
        cum += counts_[i];
        out += fmt::format("{}_bucket{{{}{}le=\"{}\"}} {}\n", name, labels, sep, num(bounds_[i]), cum);
    }
    cum += counts_.back();
    out += fmt::format("{}_bucket{{{}{}le=\"+Inf\"}} {}\n", name, labels, sep, cum);
    const std::string braces = labels.empty() ? "" : fmt::format("{{{}}}", labels);
    out += fmt::format("{}_sum{} {}\n{}_count{} {}\n", name, braces, num(sum_), name, braces, count_);
}

std::string Metrics::escape_label(std::string_view v) {
    std::string out;
    for (char c : v) {
        if (c == '\\') out += "\\\\";
        else if (c == '"') out += "\\\"";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

void Metrics::count_request(std::string_view endpoint, int status) {
    std::lock_guard<std::mutex> lock(mu_);
    requests_[{std::string(endpoint), status}]++;
}

void Metrics::count_cancel(std::string_view model, std::string_view reason) {
    std::lock_guard<std::mutex> lock(mu_);
    cancels_[{std::string(model), std::string(reason)}]++;
}

void Metrics::add_tokens(std::string_view model, int prompt, int completion, int cached) {
    std::lock_guard<std::mutex> lock(mu_);
    Tokens& t = tokens_[std::string(model)];
    t.prompt += uint64_t(std::max(0, prompt));
    t.completion += uint64_t(std::max(0, completion));
    t.cached += uint64_t(std::max(0, cached));
}

void Metrics::observe_ttft(std::string_view model, double s) {
    std::lock_guard<std::mutex> lock(mu_);
    hist(ttft_, model, kTtftBounds).observe(s);
}

void Metrics::observe_token_latency(std::string_view model, double s) {
    std::lock_guard<std::mutex> lock(mu_);
    hist(tpot_, model, kTpotBounds).observe(s);
}

void Metrics::observe_duration(std::string_view endpoint, double s) {
    std::lock_guard<std::mutex> lock(mu_);
    hist(duration_, endpoint, kDurationBounds).observe(s);
}

void Metrics::count_routed(std::string_view route, std::string_view provider, bool escalated, bool budget_limited) {
    std::lock_guard<std::mutex> lock(mu_);
    routed_[{std::string(route), std::string(provider)}]++;
    auto& e = escalated_[std::string(route)];
    if (escalated) e++;
    auto& b = budget_limited_[std::string(route)];
    if (budget_limited) b++;
}

void Metrics::add_spend(std::string_view provider, double usd) {
    std::lock_guard<std::mutex> lock(mu_);
    spend_[std::string(provider)] += usd;
}

void Metrics::count_attempt(std::string_view provider, std::string_view outcome) {
    std::lock_guard<std::mutex> lock(mu_);
    attempts_[{std::string(provider), std::string(outcome)}]++;
}

void Metrics::count_ledger_error() {
    std::lock_guard<std::mutex> lock(mu_);
    ledger_errors_++;
}

std::string Metrics::render(const std::vector<ModelGauges>& models, bool ready) const {
    std::string out;
    std::lock_guard<std::mutex> lock(mu_);
    help(out, "kinglet_ready", "gauge", "1 when every configured model is loaded");
    out += fmt::format("kinglet_ready {}\n", ready ? 1 : 0);

    help(out, "kinglet_requests_total", "counter", "HTTP requests answered, by endpoint and status code");
    for (const auto& [k, v] : requests_)
        out += fmt::format("kinglet_requests_total{{endpoint=\"{}\",status=\"{}\"}} {}\n", escape_label(k.first),
                           k.second, v);
    help(out, "kinglet_request_duration_seconds", "histogram", "Time from request to the last byte of the answer");
    for (const auto& [k, h] : duration_)
        h.render(out, "kinglet_request_duration_seconds", fmt::format("endpoint=\"{}\"", escape_label(k)));
    help(out, "kinglet_generations_cancelled_total", "counter",
         "Generations stopped early: client disconnect, timeout or shutdown");
    for (const auto& [k, v] : cancels_)
        out += fmt::format("kinglet_generations_cancelled_total{{model=\"{}\",reason=\"{}\"}} {}\n",
                           escape_label(k.first), escape_label(k.second), v);

    help(out, "kinglet_prompt_tokens_total", "counter", "Prompt tokens of answered requests");
    for (const auto& [k, t] : tokens_) out += fmt::format("kinglet_prompt_tokens_total{{model=\"{}\"}} {}\n", escape_label(k), t.prompt);
    help(out, "kinglet_prompt_tokens_cached_total", "counter", "Prompt tokens whose KV came from the prefix cache");
    for (const auto& [k, t] : tokens_)
        out += fmt::format("kinglet_prompt_tokens_cached_total{{model=\"{}\"}} {}\n", escape_label(k), t.cached);
    help(out, "kinglet_completion_tokens_total", "counter", "Generated tokens of answered requests");
    for (const auto& [k, t] : tokens_)
        out += fmt::format("kinglet_completion_tokens_total{{model=\"{}\"}} {}\n", escape_label(k), t.completion);

    help(out, "kinglet_time_to_first_token_seconds", "histogram", "Time from submission to the first generated token");
    for (const auto& [k, h] : ttft_)
        h.render(out, "kinglet_time_to_first_token_seconds", fmt::format("model=\"{}\"", escape_label(k)));
    help(out, "kinglet_time_per_output_token_seconds", "histogram",
         "Mean time between generated tokens of one request (after the first)");
    for (const auto& [k, h] : tpot_)
        h.render(out, "kinglet_time_per_output_token_seconds", fmt::format("model=\"{}\"", escape_label(k)));

    help(out, "kinglet_route_requests_total", "counter",
         "Requests by the model or route asked for and the provider whose answer was served");
    for (const auto& [k, v] : routed_)
        out += fmt::format("kinglet_route_requests_total{{route=\"{}\",provider=\"{}\"}} {}\n", escape_label(k.first),
                           escape_label(k.second), v);
    help(out, "kinglet_route_escalations_total", "counter",
         "Requests a cascade escalated past its first step (escalation rate = this / route_requests)");
    for (const auto& [k, v] : escalated_)
        out += fmt::format("kinglet_route_escalations_total{{route=\"{}\"}} {}\n", escape_label(k), v);
    help(out, "kinglet_route_budget_limited_total", "counter", "Escalations declined by a tenant's remote budget");
    for (const auto& [k, v] : budget_limited_)
        out += fmt::format("kinglet_route_budget_limited_total{{route=\"{}\"}} {}\n", escape_label(k), v);
    help(out, "kinglet_provider_attempts_total", "counter", "Provider calls by outcome (ok, low_confidence, error, ...)");
    for (const auto& [k, v] : attempts_)
        out += fmt::format("kinglet_provider_attempts_total{{provider=\"{}\",outcome=\"{}\"}} {}\n",
                           escape_label(k.first), escape_label(k.second), v);
    help(out, "kinglet_spend_usd_total", "counter", "Cost of every provider call, in USD, by provider");
    for (const auto& [k, v] : spend_)
        out += fmt::format("kinglet_spend_usd_total{{provider=\"{}\"}} {}\n", escape_label(k), num(v));
    help(out, "kinglet_ledger_errors_total", "counter", "Requests whose ledger record could not be stored");
    out += fmt::format("kinglet_ledger_errors_total {}\n", ledger_errors_);

    help(out, "kinglet_queue_depth", "gauge", "Requests waiting for a decoding slot");
    for (const auto& m : models)
        out += fmt::format("kinglet_queue_depth{{model=\"{}\"}} {}\n", escape_label(m.model), m.stats.waiting);
    help(out, "kinglet_active_sequences", "gauge", "Sequences being decoded");
    for (const auto& m : models)
        out += fmt::format("kinglet_active_sequences{{model=\"{}\"}} {}\n", escape_label(m.model), m.stats.running);
    help(out, "kinglet_parallel_slots", "gauge", "Sequences the engine decodes together at most");
    for (const auto& m : models)
        out += fmt::format("kinglet_parallel_slots{{model=\"{}\"}} {}\n", escape_label(m.model), m.max_seqs);
    help(out, "kinglet_kv_blocks_used", "gauge", "KV cache blocks held by sequences");
    for (const auto& m : models)
        out += fmt::format("kinglet_kv_blocks_used{{model=\"{}\"}} {}\n", escape_label(m.model), m.stats.kv_blocks_used);
    help(out, "kinglet_kv_blocks_total", "gauge", "KV cache blocks in all");
    for (const auto& m : models)
        out += fmt::format("kinglet_kv_blocks_total{{model=\"{}\"}} {}\n", escape_label(m.model), m.stats.kv_blocks_total);
    help(out, "kinglet_prefix_cache_hit_blocks_total", "counter", "KV blocks reused from the prefix cache");
    for (const auto& m : models)
        out += fmt::format("kinglet_prefix_cache_hit_blocks_total{{model=\"{}\"}} {}\n", escape_label(m.model),
                           m.stats.prefix_hit_blocks);
    help(out, "kinglet_engine_steps_total", "counter", "Forward passes run");
    for (const auto& m : models)
        out += fmt::format("kinglet_engine_steps_total{{model=\"{}\"}} {}\n", escape_label(m.model), m.stats.steps);
    help(out, "kinglet_engine_tokens_generated_total", "counter", "Tokens sampled by the engine (all requests)");
    for (const auto& m : models)
        out += fmt::format("kinglet_engine_tokens_generated_total{{model=\"{}\"}} {}\n", escape_label(m.model),
                           m.stats.tokens_generated);
    help(out, "kinglet_engine_tokens_prefilled_total", "counter", "Prompt tokens computed by the engine");
    for (const auto& m : models)
        out += fmt::format("kinglet_engine_tokens_prefilled_total{{model=\"{}\"}} {}\n", escape_label(m.model),
                           m.stats.tokens_prefilled);
    return out;
}

}  // namespace kinglet::server
