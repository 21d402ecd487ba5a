// The ledger: one record per request that kinglet answered (or refused), with every provider tried,
// the one that answered, tokens, cost and latency — the ground truth for `kinglet cost`, budgets and
// the routing numbers a team trusts. Backends: SQLite (a file, WAL; the default) and PostgreSQL
// (several replicas share one ledger); the same schema, created and migrated on open.
//
// Durability contract: when append() returns, the record is committed — a process killed with
// SIGKILL right after still has it. append() is called from HTTP threads, never from a decoding
// thread, so a slow database delays that one response, not the batch.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace kinglet::ledger {

// One provider tried while serving a request.
struct Attempt {
    std::string provider;          // the configured name: a local model or a remote provider
    // ok | low_confidence | length | error | timeout | budget_declined
    std::string outcome;
    int prompt_tokens = 0;
    int completion_tokens = 0;
    double cost_usd = 0;
    double latency_ms = 0;
    std::optional<double> confidence;  // the step's confidence signal, when one was computed
    std::string error;                 // outcome error/timeout: what went wrong
};

struct Record {
    std::string id;                // the response id the client saw (chatcmpl-..., cmpl-...)
    int64_t time_ms = 0;           // Unix time in ms when the request arrived
    std::string tenant;            // "" when no tenants are configured
    std::string key_id;            // the API key's id (never the key itself); "" when auth is off
    std::string route;             // the "model" the client asked for (a route or a model name)
    std::string endpoint;          // chat | completions | embeddings
    std::vector<Attempt> attempts; // in the order tried
    std::string provider;          // the provider whose answer was served; "" when none
    bool escalated = false;        // a cascade went past its first step
    bool budget_limited = false;   // an escalation was declined by the tenant's budget
    std::optional<double> confidence;  // the served step's confidence, when computed
    std::string signal;            // which confidence signal (mean_logprob, min_logprob, label_prob)
    int prompt_tokens = 0;         // of the served answer
    int completion_tokens = 0;
    double cost_usd = 0;           // every attempt's cost, summed (what the request really cost)
    double remote_cost_usd = 0;    // the part of cost_usd spent on remote providers (budgets count this)
    double latency_ms = 0;         // arrival to last byte
    double ttft_ms = 0;            // arrival to first byte of the answer
    int status = 200;              // HTTP status sent
    std::string finish_reason;     // stop | length | error | ...
};

// What `kinglet cost` and budgets read.
struct Query {
    int64_t from_ms = 0;                    // inclusive
    int64_t to_ms = INT64_MAX;              // exclusive
    std::optional<std::string> tenant;
    std::optional<std::string> route;
};

// Sums over requests, for `kinglet cost` (see Ledger::usage). Token counts are the served answers'.
struct Usage {
    std::string key;               // the group: a route, tenant, served provider or UTC day (YYYY-MM-DD)
    int64_t requests = 0;
    int64_t escalated = 0;
    int64_t budget_limited = 0;
    int64_t failed = 0;            // status >= 400
    int64_t prompt_tokens = 0;
    int64_t completion_tokens = 0;
    double cost_usd = 0;
    double remote_cost_usd = 0;
    double latency_ms = 0;         // summed: divide by requests for the mean
};
enum class GroupBy { none, route, tenant, provider, day };

// Sums over attempts of one provider (an escalated request counts on both of its providers).
struct ProviderUsage {
    std::string provider;
    int64_t attempts = 0;
    int64_t failures = 0;          // outcome error or timeout
    int64_t prompt_tokens = 0;
    int64_t completion_tokens = 0;
    double cost_usd = 0;
};

class Ledger {
public:
    virtual ~Ledger() = default;
    // Commits one record (see the durability contract above). Thread-safe. Throws Error on failure.
    virtual void append(const Record& r) = 0;
    // Remote spend of a tenant in [from_ms, to_ms), for budgets. Thread-safe.
    virtual double remote_spend_usd(const std::string& tenant, int64_t from_ms, int64_t to_ms) = 0;
    // Records matching q, oldest first, attempts included.
    virtual std::vector<Record> records(const Query& q) = 0;
    // Requests matching q summed per group, ordered by key (one row with key "" for GroupBy::none,
    // none when nothing matches). The default reads records(); backends override it with SQL.
    virtual std::vector<Usage> usage(const Query& q, GroupBy by);
    // Attempts of the requests matching q summed per provider, ordered by provider.
    virtual std::vector<ProviderUsage> provider_usage(const Query& q);
    // "sqlite:///abs/path.db", "sqlite://relative.db", a plain path, or "postgresql://...".
    virtual std::string url() const = 0;
};

// Opens (creating and migrating the schema) the ledger at `url`: sqlite://PATH (or a bare path) or
// postgresql://... / postgres://... Throws Error naming the URL and the problem.
std::unique_ptr<Ledger> open_ledger(const std::string& url);

// The reference aggregation (what usage()/provider_usage() must return), over records in memory.
std::vector<Usage> usage_of(const std::vector<Record>& records, GroupBy by);
std::vector<ProviderUsage> provider_usage_of(const std::vector<Record>& records);
// "YYYY-MM-DD" (UTC) of a Unix time in ms.
std::string utc_day(int64_t time_ms);

}  // namespace kinglet::ledger
