// What the server adds around a routed request: who is calling (tenant, tier, key id), whether that
// tenant may still spend money on remote providers this month, and the one ledger record per request.
//
// Budgets: a tenant's remote spend this calendar month (UTC) is read from the ledger (so several
// replicas sharing one PostgreSQL ledger see each other's spend, up to `refresh` seconds late) and
// kept current in memory with every request this process records. A request may start while the
// tenant is under its limit and end above it: the limit stops further spending, it does not cut
// answers in half. Without a ledger the spend is counted in memory only (from process start).
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "ledger/ledger.h"
#include "router/provider.h"

namespace kinglet::server {

struct Tenant {
    std::string name;
    std::string tier = "default";
    std::optional<double> monthly_remote_usd;
    bool reject_over_budget = false;  // on_budget_exceeded: reject
};

class Accounting {
public:
    // `key_tenant[i]` is the tenant index of API key i (-1: a key without a tenant). `clock` gives the
    // Unix time in ms that decides the budget month (default now_ms; tests pass their own).
    Accounting(std::vector<Tenant> tenants, std::vector<int> key_tenant, std::shared_ptr<ledger::Ledger> ledger,
               double refresh_s = 5, std::function<int64_t()> clock = {});

    // The tenant of API key index `key` (nullptr for none).
    const Tenant* tenant_of_key(int key) const;
    // Sets tenant, tier and the budget check on a provider request.
    void prepare(router::GenerationRequest& g, const Tenant* t);
    // True while `t`'s remote spend this UTC month is under its monthly limit (a tenant exactly at its
    // limit has spent it all: declined; a limit of 0 allows no remote call).
    bool remote_allowed(const Tenant& t);

    // Appends the record (the durability point: call it before the last bytes are sent) and counts its
    // remote spend. A ledger failure is logged and counted, never thrown: the client still gets its
    // answer. Returns false when the record could not be stored.
    bool record(const ledger::Record& r);
    bool has_ledger() const { return ledger_ != nullptr; }
    uint64_t ledger_errors() const;

    // Unix time in ms; the first instant of the UTC month containing `ms`.
    static int64_t now_ms();
    static int64_t month_start_ms(int64_t ms);

private:
    struct Spend {
        int64_t month = -1;   // month_start_ms of the cached value
        double usd = 0;
        std::chrono::steady_clock::time_point refreshed;
    };
    std::vector<Tenant> tenants_;
    std::vector<int> key_tenant_;
    std::shared_ptr<ledger::Ledger> ledger_;
    std::chrono::duration<double> refresh_;
    std::function<int64_t()> clock_;
    mutable std::mutex mu_;
    std::map<std::string, Spend> spend_;
    uint64_t ledger_errors_ = 0;
};

// One ledger record from what a request's choices produced.
struct RecordInput {
    std::string id, tenant, key_id, route, endpoint;
    int64_t time_ms = 0;
    std::vector<const router::GenerationResult*> results;  // finished choices (may be fewer than asked)
    int prompt_tokens = 0, completion_tokens = 0;           // usage reported to the client
    double latency_ms = 0, ttft_ms = 0;
    int status = 200;
    std::string finish_reason;
    bool budget_limited_rejected = false;
};
ledger::Record make_record(const RecordInput& in);

}  // namespace kinglet::server
