#include "ledger/queries.h"

#include <fmt/format.h>

namespace kinglet::ledger {
namespace {

std::string filter(Dialect d) {
    if (d == Dialect::sqlite)
        return "r.time_ms >= ?1 AND r.time_ms < ?2 AND (?3 IS NULL OR r.tenant = ?3) AND (?4 IS NULL OR r.route = ?4)";
    return "r.time_ms >= $1::bigint AND r.time_ms < $2::bigint AND ($3::text IS NULL OR r.tenant = $3::text) "
           "AND ($4::text IS NULL OR r.route = $4::text)";
}

// PostgreSQL sorts text by the database's collation; the ledger promises bytewise order everywhere.
const char* bytewise(Dialect d) { return d == Dialect::postgres ? " COLLATE \"C\"" : ""; }

// Floor division, so a day number means the same in both databases (SQL '/' truncates toward zero).
const char* kDay = "(CASE WHEN r.time_ms >= 0 THEN r.time_ms / 86400000 ELSE -((-r.time_ms - 1) / 86400000) - 1 END)";

}  // namespace

std::string records_sql(Dialect d) {
    std::string cols;
    for (std::string_view c : {"id", "time_ms", "tenant", "key_id", "route", "endpoint", "provider", "escalated",
                               "budget_limited", "confidence", "signal", "prompt_tokens", "completion_tokens",
                               "cost_usd", "remote_cost_usd", "latency_ms", "ttft_ms", "status", "finish_reason"})
        cols += fmt::format(", r.{}", c);
    return fmt::format("SELECT r.seq{} FROM requests r WHERE {} ORDER BY r.time_ms, r.seq", cols, filter(d));
}

std::string attempts_sql(Dialect d) {
    return fmt::format(
        "SELECT a.request_seq, a.idx, a.provider, a.outcome, a.prompt_tokens, a.completion_tokens, a.cost_usd, "
        "a.latency_ms, a.confidence, a.error FROM attempts a JOIN requests r ON r.seq = a.request_seq WHERE {} "
        "ORDER BY a.request_seq, a.idx",
        filter(d));
}

std::string usage_sql(Dialect d, GroupBy by) {
    std::string key;
    switch (by) {
        case GroupBy::none: key = "''"; break;
        case GroupBy::route: key = "r.route"; break;
        case GroupBy::tenant: key = "r.tenant"; break;
        case GroupBy::provider: key = "r.provider"; break;
        case GroupBy::day: key = kDay; break;
    }
    const std::string sums =
        "COUNT(*), SUM(r.escalated), SUM(r.budget_limited), SUM(CASE WHEN r.status >= 400 THEN 1 ELSE 0 END), "
        "SUM(r.prompt_tokens), SUM(r.completion_tokens), SUM(r.cost_usd), SUM(r.remote_cost_usd), SUM(r.latency_ms)";
    if (by == GroupBy::none)
        return fmt::format("SELECT '', {} FROM requests r WHERE {}", sums, filter(d));
    const std::string order = by == GroupBy::day ? key : key + bytewise(d);
    return fmt::format("SELECT {} AS k, {} FROM requests r WHERE {} GROUP BY 1 ORDER BY {}", key, sums, filter(d),
                       order);
}

std::string provider_usage_sql(Dialect d) {
    return fmt::format(
        "SELECT a.provider, COUNT(*), SUM(CASE WHEN a.outcome IN ('error', 'timeout') THEN 1 ELSE 0 END), "
        "SUM(a.prompt_tokens), SUM(a.completion_tokens), SUM(a.cost_usd) FROM attempts a JOIN requests r "
        "ON r.seq = a.request_seq WHERE {} GROUP BY a.provider ORDER BY a.provider{}",
        filter(d), bytewise(d));
}

std::string remote_spend_sql(Dialect d) {
    if (d == Dialect::sqlite)
        return "SELECT TOTAL(remote_cost_usd) FROM requests WHERE tenant = ?1 AND time_ms >= ?2 AND time_ms < ?3";
    return "SELECT COALESCE(SUM(remote_cost_usd), 0) FROM requests WHERE tenant = $1::text AND time_ms >= $2::bigint "
           "AND time_ms < $3::bigint";
}

}  // namespace kinglet::ledger
