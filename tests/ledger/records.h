// Records for ledger tests: every field set, and seeded random ones for sums.
#pragma once
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "ledger/ledger.h"

namespace kinglet::test {

inline ledger::Record full_record(int i, int64_t time_ms) {
    ledger::Record r;
    r.id = fmt::format("chatcmpl-{}-'quoted' \"double\" ünïcödé 🚀", i);
    r.time_ms = time_ms;
    r.tenant = i % 2 ? "acme" : "globex";
    r.key_id = fmt::format("key-{}", i % 3);
    r.route = i % 3 ? "triage" : "chat";
    r.endpoint = "chat";
    r.attempts.push_back({"small", "low_confidence", 120 + i, 3, 0.000012 * i, 41.5, 0.61 + i * 1e-3, ""});
    r.attempts.push_back({"large", "ok", 118 + i, 7, 0.0021 + i * 1e-7, 950.25, std::nullopt, ""});
    r.provider = "large";
    r.escalated = true;
    r.budget_limited = i % 5 == 0;
    r.confidence = std::nullopt;
    r.signal = "label_prob";
    r.prompt_tokens = 118 + i;
    r.completion_tokens = 7;
    r.cost_usd = r.attempts[0].cost_usd + r.attempts[1].cost_usd;
    r.remote_cost_usd = r.attempts[1].cost_usd;
    r.latency_ms = 1001.125 + i;
    r.ttft_ms = 993.0625;
    r.status = 200;
    r.finish_reason = "stop";
    return r;
}

inline ledger::Record random_record(std::mt19937_64& rng, int64_t t0, int64_t span_ms) {
    auto pick = [&](std::initializer_list<const char*> xs) {
        return std::string(*(xs.begin() + std::uniform_int_distribution<size_t>(0, xs.size() - 1)(rng)));
    };
    std::uniform_real_distribution<double> u(0, 1);
    ledger::Record r;
    r.id = fmt::format("cmpl-{}", rng());
    r.time_ms = t0 + std::uniform_int_distribution<int64_t>(0, span_ms - 1)(rng);
    r.tenant = pick({"", "acme", "globex", "initech"});
    r.route = pick({"triage", "support", "chat", "small"});
    r.endpoint = pick({"chat", "completions"});
    const int steps = std::uniform_int_distribution<int>(0, 3)(rng);
    for (int s = 0; s < steps; ++s) {
        ledger::Attempt a;
        a.provider = pick({"small", "medium", "large"});
        a.outcome = pick({"ok", "low_confidence", "length", "error", "timeout", "budget_declined"});
        a.prompt_tokens = std::uniform_int_distribution<int>(0, 4000)(rng);
        a.completion_tokens = std::uniform_int_distribution<int>(0, 800)(rng);
        a.cost_usd = u(rng) * 0.01;
        a.latency_ms = u(rng) * 2000;
        if (u(rng) < 0.5) a.confidence = u(rng);
        if (a.outcome == "error") a.error = "HTTP 500";
        r.attempts.push_back(a);
        r.cost_usd += a.cost_usd;
        if (a.provider != "small") r.remote_cost_usd += a.cost_usd;
    }
    r.provider = steps ? r.attempts.back().provider : "";
    r.escalated = steps > 1;
    r.budget_limited = u(rng) < 0.1;
    if (u(rng) < 0.7) r.confidence = u(rng);
    r.signal = r.confidence ? "mean_logprob" : "";
    r.prompt_tokens = steps ? r.attempts.back().prompt_tokens : 0;
    r.completion_tokens = steps ? r.attempts.back().completion_tokens : 0;
    r.latency_ms = u(rng) * 3000;
    r.ttft_ms = r.latency_ms * u(rng);
    r.status = steps ? 200 : (u(rng) < 0.5 ? 429 : 502);
    r.finish_reason = steps ? pick({"stop", "length"}) : "error";
    return r;
}

inline void expect_same(const ledger::Record& a, const ledger::Record& b) {
    EXPECT_EQ(a.id, b.id);
    EXPECT_EQ(a.time_ms, b.time_ms);
    EXPECT_EQ(a.tenant, b.tenant);
    EXPECT_EQ(a.key_id, b.key_id);
    EXPECT_EQ(a.route, b.route);
    EXPECT_EQ(a.endpoint, b.endpoint);
    EXPECT_EQ(a.provider, b.provider);
    EXPECT_EQ(a.escalated, b.escalated);
    EXPECT_EQ(a.budget_limited, b.budget_limited);
    EXPECT_EQ(a.confidence, b.confidence);
    EXPECT_EQ(a.signal, b.signal);
    EXPECT_EQ(a.prompt_tokens, b.prompt_tokens);
    EXPECT_EQ(a.completion_tokens, b.completion_tokens);
    EXPECT_EQ(a.cost_usd, b.cost_usd);  // exact: doubles must round-trip
    EXPECT_EQ(a.remote_cost_usd, b.remote_cost_usd);
    EXPECT_EQ(a.latency_ms, b.latency_ms);
    EXPECT_EQ(a.ttft_ms, b.ttft_ms);
    EXPECT_EQ(a.status, b.status);
    EXPECT_EQ(a.finish_reason, b.finish_reason);
    ASSERT_EQ(a.attempts.size(), b.attempts.size()) << a.id;
    for (size_t i = 0; i < a.attempts.size(); ++i) {
        const auto &x = a.attempts[i], &y = b.attempts[i];
        EXPECT_EQ(x.provider, y.provider) << i;
        EXPECT_EQ(x.outcome, y.outcome) << i;
        EXPECT_EQ(x.prompt_tokens, y.prompt_tokens) << i;
        EXPECT_EQ(x.completion_tokens, y.completion_tokens) << i;
        EXPECT_EQ(x.cost_usd, y.cost_usd) << i;
        EXPECT_EQ(x.latency_ms, y.latency_ms) << i;
        EXPECT_EQ(x.confidence, y.confidence) << i;
        EXPECT_EQ(x.error, y.error) << i;
    }
}

}  // namespace kinglet::test
