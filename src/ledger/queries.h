// The SQL both backends read with, written once. Every query takes the same four parameters, the
// Query's filter: 1 from_ms, 2 to_ms, 3 tenant (NULL = any), 4 route (NULL = any).
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

}  // namespace kinglet::ledger
