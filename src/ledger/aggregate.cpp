// The reference aggregation over records in memory, and the Ledger defaults built on it.
#include <fmt/format.h>

#include <chrono>
#include <map>

#include "ledger/ledger.h"

namespace kinglet::ledger {

std::string utc_day(int64_t time_ms) {
    using namespace std::chrono;
    const sys_days day = floor<days>(sys_time<milliseconds>(milliseconds(time_ms)));
    const year_month_day ymd(day);
    return fmt::format("{:04d}-{:02d}-{:02d}", int(ymd.year()), unsigned(ymd.month()), unsigned(ymd.day()));
}

std::vector<Usage> usage_of(const std::vector<Record>& records, GroupBy by) {
    std::map<std::string, Usage> groups;
    for (const Record& r : records) {
        std::string key;
        switch (by) {
            case GroupBy::none: break;
            case GroupBy::route: key = r.route; break;
            case GroupBy::tenant: key = r.tenant; break;
            case GroupBy::provider: key = r.provider; break;
            case GroupBy::day: key = utc_day(r.time_ms); break;
        }
        Usage& u = groups[key];
        u.key = key;
        u.requests += 1;
        u.escalated += r.escalated;
        u.budget_limited += r.budget_limited;
        u.failed += r.status >= 400;
        u.prompt_tokens += r.prompt_tokens;
        u.completion_tokens += r.completion_tokens;
        u.cost_usd += r.cost_usd;
        u.remote_cost_usd += r.remote_cost_usd;
        u.latency_ms += r.latency_ms;
    }
    std::vector<Usage> out;
    for (auto& [_, u] : groups) out.push_back(std::move(u));
    return out;
}

std::vector<ProviderUsage> provider_usage_of(const std::vector<Record>& records) {
    std::map<std::string, ProviderUsage> groups;
    for (const Record& r : records)
        for (const Attempt& a : r.attempts) {
            ProviderUsage& p = groups[a.provider];
            p.provider = a.provider;
            p.attempts += 1;
            p.failures += a.outcome == "error" || a.outcome == "timeout";
            p.prompt_tokens += a.prompt_tokens;
            p.completion_tokens += a.completion_tokens;
            p.cost_usd += a.cost_usd;
        }
    std::vector<ProviderUsage> out;
    for (auto& [_, p] : groups) out.push_back(std::move(p));
    return out;
}

std::vector<Usage> Ledger::usage(const Query& q, GroupBy by) { return usage_of(records(q), by); }

std::vector<ProviderUsage> Ledger::provider_usage(const Query& q) { return provider_usage_of(records(q)); }

}  // namespace kinglet::ledger
