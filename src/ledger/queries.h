// The SQL both backends read with, and how its rows decode, written once. Every query takes the same
// four parameters, the Query's filter: 1 from_ms, 2 to_ms, 3 tenant (NULL = any), 4 route (NULL = any).
#pragma once
#include <string>

#include "ledger/ledger.h"
#include "ledger/schema.h"

namespace kinglet::ledger {

// seq, then kRequestColumns; oldest first.
std::string records_sql(Dialect d);
// request_seq, idx, then kAttemptColumns, of the requests records_sql selects; by request_seq, idx.
std::string attempts_sql(Dialect d);
// key, requests, escalated, budget_limited, failed, prompt_tokens, completion_tokens, cost_usd,
// remote_cost_usd, latency_ms; ordered by key (bytewise). The day key is the integer UTC day number.
// GroupBy::none gives one row, with requests = 0 when nothing matches.
std::string usage_sql(Dialect d, GroupBy by);
// provider, attempts, failures, prompt_tokens, completion_tokens, cost_usd; ordered by provider.
std::string provider_usage_sql(Dialect d);
// The remote spend of tenant 1 in [2, 3).
std::string remote_spend_sql(Dialect d);

// Row decoders for the queries above. A row is anything with text(c), i64(c), f64(c) and opt_f64(c)
// reading column c of one result row (NULL as "", 0, 0.0 and nullopt).
template <class Row>
Record record_from_row(const Row& r) {  // records_sql (column 0, seq, is the caller's)
    Record x;
    x.id = r.text(1);
    x.time_ms = r.i64(2);
    x.tenant = r.text(3);
    x.key_id = r.text(4);
    x.route = r.text(5);
    x.endpoint = r.text(6);
    x.provider = r.text(7);
    x.escalated = r.i64(8) != 0;
    x.budget_limited = r.i64(9) != 0;
    x.confidence = r.opt_f64(10);
    x.signal = r.text(11);
    x.prompt_tokens = int(r.i64(12));
    x.completion_tokens = int(r.i64(13));
    x.cost_usd = r.f64(14);
    x.remote_cost_usd = r.f64(15);
    x.latency_ms = r.f64(16);
    x.ttft_ms = r.f64(17);
    x.status = int(r.i64(18));
    x.finish_reason = r.text(19);
    return x;
}

template <class Row>
Attempt attempt_from_row(const Row& r) {  // attempts_sql (columns 0 and 1, request_seq and idx, are the caller's)
    Attempt a;
    a.provider = r.text(2);
    a.outcome = r.text(3);
    a.prompt_tokens = int(r.i64(4));
    a.completion_tokens = int(r.i64(5));
    a.cost_usd = r.f64(6);
    a.latency_ms = r.f64(7);
    a.confidence = r.opt_f64(8);
    a.error = r.text(9);
    return a;
}

template <class Row>
Usage usage_from_row(const Row& r, GroupBy by) {  // usage_sql
    Usage u;
    u.key = by == GroupBy::day ? utc_day(r.i64(0) * 86400000) : r.text(0);
    u.requests = r.i64(1);
    u.escalated = r.i64(2);
    u.budget_limited = r.i64(3);
    u.failed = r.i64(4);
    u.prompt_tokens = r.i64(5);
    u.completion_tokens = r.i64(6);
    u.cost_usd = r.f64(7);
    u.remote_cost_usd = r.f64(8);
    u.latency_ms = r.f64(9);
    return u;
}

template <class Row>
ProviderUsage provider_usage_from_row(const Row& r) {  // provider_usage_sql
    ProviderUsage p;
    p.provider = r.text(0);
    p.attempts = r.i64(1);
    p.failures = r.i64(2);
    p.prompt_tokens = r.i64(3);
    p.completion_tokens = r.i64(4);
    p.cost_usd = r.f64(5);
    return p;
}

}  // namespace kinglet::ledger
