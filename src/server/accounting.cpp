#include "server/accounting.h"

#include <ctime>

#include "core/log.h"

namespace kinglet::server {

Accounting::Accounting(std::vector<Tenant> tenants, std::vector<int> key_tenant, std::shared_ptr<ledger::Ledger> ledger,
                       double refresh_s, std::function<int64_t()> clock)
    : tenants_(std::move(tenants)), key_tenant_(std::move(key_tenant)), ledger_(std::move(ledger)),
      refresh_(refresh_s), clock_(clock ? std::move(clock) : std::function<int64_t()>(&Accounting::now_ms)) {}

const Tenant* Accounting::tenant_of_key(int key) const {
    if (key < 0 || size_t(key) >= key_tenant_.size()) return nullptr;
    const int t = key_tenant_[size_t(key)];
    return t < 0 ? nullptr : &tenants_[size_t(t)];
}

int64_t Accounting::now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

int64_t Accounting::month_start_ms(int64_t ms) {
    const std::time_t secs = std::time_t(ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    tm.tm_mday = 1;
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    return int64_t(timegm(&tm)) * 1000;
}

bool Accounting::remote_allowed(const Tenant& t) {
    if (!t.monthly_remote_usd) return true;
    const int64_t month = month_start_ms(clock_());
    std::unique_lock<std::mutex> lock(mu_);
    Spend& s = spend_[t.name];
    const auto steady = std::chrono::steady_clock::now();
    if (s.month != month || (ledger_ && steady - s.refreshed > refresh_)) {
        double usd = s.month == month ? s.usd : 0;
        if (ledger_) {
            lock.unlock();
            try {
                usd = ledger_->remote_spend_usd(t.name, month, INT64_MAX);
            } catch (const std::exception& e) {
                log::error("ledger: reading tenant '{}''s spend failed: {}", t.name, e.what());
            }
            lock.lock();
        }
        s.month = month;
        s.usd = usd;
        s.refreshed = steady;
    }
    return s.usd < *t.monthly_remote_usd;
}

void Accounting::prepare(router::GenerationRequest& g, const Tenant* t) {
    if (!t) return;
    g.tenant = t->name;
    g.tier = t->tier;
    if (t->monthly_remote_usd) g.remote_allowed = [this, t] { return remote_allowed(*t); };
}

bool Accounting::record(const ledger::Record& r) {
    bool ok = true;
    if (ledger_) {
        try {
            ledger_->append(r);
        } catch (const std::exception& e) {
            ok = false;
            log::error("ledger: could not record request {}: {}", r.id, e.what());
        }
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (!ok) ledger_errors_++;
    if (!r.tenant.empty() && r.remote_cost_usd > 0) {
        auto it = spend_.find(r.tenant);
        if (it != spend_.end() && it->second.month == month_start_ms(r.time_ms)) it->second.usd += r.remote_cost_usd;
    }
    return ok;
}

uint64_t Accounting::ledger_errors() const {
    std::lock_guard<std::mutex> lock(mu_);
    return ledger_errors_;
}

ledger::Record make_record(const RecordInput& in) {
    ledger::Record r;
    r.id = in.id;
    r.time_ms = in.time_ms;
    r.tenant = in.tenant;
    r.key_id = in.key_id;
    r.route = in.route;
    r.endpoint = in.endpoint;
    for (const auto* res : in.results) {
        const auto& t = res->trace;
        for (const auto& a : t.attempts) {
            ledger::Attempt la;
            la.provider = a.provider;
            la.outcome = a.outcome;
            la.prompt_tokens = a.prompt_tokens;
            la.completion_tokens = a.completion_tokens;
            la.cost_usd = a.cost_usd;
            la.latency_ms = a.latency_ms;
            la.confidence = a.confidence;
            la.error = a.error;
            r.cost_usd += a.cost_usd;
            if (a.remote) r.remote_cost_usd += a.cost_usd;
            r.attempts.push_back(std::move(la));
        }
        r.escalated = r.escalated || t.escalated;
        r.budget_limited = r.budget_limited || t.budget_limited;
    }
    if (!in.results.empty()) {
        const auto& t0 = in.results[0]->trace;
        r.provider = in.status < 400 ? t0.provider : "";
        r.confidence = t0.confidence;
        r.signal = t0.signal;
    }
    r.prompt_tokens = in.prompt_tokens;
    r.completion_tokens = in.completion_tokens;
    r.latency_ms = in.latency_ms;
    r.ttft_ms = in.ttft_ms;
    r.status = in.status;
    r.finish_reason = in.finish_reason;
    return r;
}

}  // namespace kinglet::server
