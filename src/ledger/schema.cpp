#include "ledger/schema.h"

#include <cmath>

#include "core/error.h"

namespace kinglet::ledger {

const char* const kRequestColumns =
    "id, time_ms, tenant, key_id, route, endpoint, provider, escalated, budget_limited, confidence, signal, "
    "prompt_tokens, completion_tokens, cost_usd, remote_cost_usd, latency_ms, ttft_ms, status, finish_reason";
const char* const kAttemptColumns =
    "provider, outcome, prompt_tokens, completion_tokens, cost_usd, latency_ms, confidence, error";

namespace {

// Types by dialect: SQLite's INTEGER PRIMARY KEY is the rowid; PostgreSQL needs 64-bit columns.
std::vector<Migration> make(const char* key, const char* big, const char* real) {
    auto requests = fmt::format(
        "CREATE TABLE requests (seq {key}, id TEXT NOT NULL, time_ms {big} NOT NULL, tenant TEXT NOT NULL, "
        "key_id TEXT NOT NULL, route TEXT NOT NULL, endpoint TEXT NOT NULL, provider TEXT NOT NULL, "
        "escalated INTEGER NOT NULL, budget_limited INTEGER NOT NULL, confidence {real}, signal TEXT NOT NULL, "
        "prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL, cost_usd {real} NOT NULL, "
        "remote_cost_usd {real} NOT NULL, latency_ms {real} NOT NULL, ttft_ms {real} NOT NULL, "
        "status INTEGER NOT NULL, finish_reason TEXT NOT NULL)",
        fmt::arg("key", key), fmt::arg("big", big), fmt::arg("real", real));
    auto attempts = fmt::format(
        "CREATE TABLE attempts (request_seq {big} NOT NULL REFERENCES requests(seq), idx INTEGER NOT NULL, "
        "provider TEXT NOT NULL, outcome TEXT NOT NULL, prompt_tokens INTEGER NOT NULL, "
        "completion_tokens INTEGER NOT NULL, cost_usd {real} NOT NULL, latency_ms {real} NOT NULL, "
        "confidence {real}, error TEXT NOT NULL, PRIMARY KEY (request_seq, idx))",
        fmt::arg("big", big), fmt::arg("real", real));
    return {
        {1, "requests and attempts", {requests, attempts}},
        {2,
         "indices for time windows and per-tenant budgets",
         {"CREATE INDEX requests_time ON requests (time_ms)",
          "CREATE INDEX requests_tenant_time ON requests (tenant, time_ms)"}},
    };
}

}  // namespace

const std::vector<Migration>& migrations(Dialect d) {
    static const std::vector<Migration> sqlite = make("INTEGER PRIMARY KEY", "INTEGER", "REAL");
    static const std::vector<Migration> postgres = make("BIGSERIAL PRIMARY KEY", "BIGINT", "DOUBLE PRECISION");
    return d == Dialect::sqlite ? sqlite : postgres;
}

int latest_schema_version() { return migrations(Dialect::sqlite).back().version; }

void check_storable(const Record& r) {
    auto check = [&](double v, const char* field) {
        if (!std::isfinite(v)) fail(Errc::internal, "ledger record '{}': {} is {}, not a finite number", r.id, field, v);
    };
    auto text = [&](const std::string& v, const char* field) {
        if (v.find('\0') != std::string::npos) fail(Errc::internal, "ledger record '{}': {} contains a NUL byte", r.id, field);
    };
    for (const auto* s : {&r.id, &r.tenant, &r.key_id, &r.route, &r.endpoint, &r.provider, &r.signal, &r.finish_reason})
        text(*s, "a text field");
    for (const Attempt& a : r.attempts) {
        text(a.provider, "attempt provider");
        text(a.outcome, "attempt outcome");
        text(a.error, "attempt error");
    }
    check(r.cost_usd, "cost_usd");
    check(r.remote_cost_usd, "remote_cost_usd");
    check(r.latency_ms, "latency_ms");
    check(r.ttft_ms, "ttft_ms");
    if (r.confidence) check(*r.confidence, "confidence");
    for (const Attempt& a : r.attempts) {
        check(a.cost_usd, "attempt cost_usd");
        check(a.latency_ms, "attempt latency_ms");
        if (a.confidence) check(*a.confidence, "attempt confidence");
    }
}

}  // namespace kinglet::ledger
