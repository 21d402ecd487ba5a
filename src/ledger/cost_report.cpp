#include "ledger/cost_report.h"

#include <fmt/format.h>

#include <cmath>
#include <map>

namespace kinglet::ledger {
namespace {

using nlohmann::json;

json usage_json(const Usage& u) {
    return {{"requests", u.requests},
            {"escalated", u.escalated},
            {"escalation_rate", u.requests ? double(u.escalated) / double(u.requests) : 0.0},
            {"budget_limited", u.budget_limited},
            {"failed", u.failed},
            {"prompt_tokens", u.prompt_tokens},
            {"completion_tokens", u.completion_tokens},
            {"cost_usd", u.cost_usd},
            {"remote_cost_usd", u.remote_cost_usd},
            {"mean_latency_ms", u.requests ? u.latency_ms / double(u.requests) : 0.0}};
}

json grouped(Ledger& l, const Query& q, GroupBy by, const char* key_name) {
    json out = json::array();
    for (const Usage& u : l.usage(q, by)) {
        json j = usage_json(u);
        j[key_name] = u.key;
        out.push_back(std::move(j));
    }
    return out;
}

std::string money(double v) { return fmt::format("{:.4f}", v); }
std::string percent(double v) { return fmt::format("{:.1f}%", v * 100); }

std::string table(const std::vector<std::string>& head, const std::vector<std::vector<std::string>>& rows) {
    std::vector<size_t> w(head.size());
    for (size_t c = 0; c < head.size(); ++c) {
        w[c] = head[c].size();
        for (const auto& r : rows) w[c] = std::max(w[c], r[c].size());
    }
    auto line = [&](const std::vector<std::string>& r) {
        std::string s;
        for (size_t c = 0; c < r.size(); ++c)
            s += c == 0 ? fmt::format("  {:<{}}", r[c], w[c]) : fmt::format("  {:>{}}", r[c], w[c]);
        return s + "\n";
    };
    std::string s = line(head);
    for (const auto& r : rows) s += line(r);
    return s;
}

std::string usage_table(const json& groups, const char* key_name, const char* title) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& g : groups) {
        const std::string key = g[key_name].get<std::string>();
        rows.push_back({key.empty() ? "(none)" : key, std::to_string(g["requests"].get<int64_t>()),
                        std::to_string(g["prompt_tokens"].get<int64_t>()),
                        std::to_string(g["completion_tokens"].get<int64_t>()), money(g["cost_usd"].get<double>()),
                        money(g["remote_cost_usd"].get<double>()), percent(g["escalation_rate"].get<double>()),
                        std::to_string(g["failed"].get<int64_t>())});
    }
    if (rows.empty()) return "";
    return fmt::format("\nBy {}:\n", title) +
           table({key_name, "requests", "prompt tok", "completion tok", "cost $", "remote $", "escalated", "failed"},
                 rows);
}

}  // namespace

json cost_report(Ledger& l, const Query& q, const std::optional<Baseline>& baseline) {
    json r;
    r["ledger"] = l.url();
    r["from"] = q.from_ms > 0 ? json(format_utc(q.from_ms)) : json(nullptr);
    r["to"] = q.to_ms < INT64_MAX ? json(format_utc(q.to_ms)) : json(nullptr);
    r["tenant"] = q.tenant ? json(*q.tenant) : json(nullptr);
    r["route"] = q.route ? json(*q.route) : json(nullptr);
    const auto totals = l.usage(q, GroupBy::none);
    const Usage total = totals.empty() ? Usage{} : totals[0];
    r["totals"] = usage_json(total);
    r["totals"]["local_cost_usd"] = total.cost_usd - total.remote_cost_usd;
    r["by_route"] = grouped(l, q, GroupBy::route, "route");
    r["by_tenant"] = grouped(l, q, GroupBy::tenant, "tenant");
    r["by_day"] = grouped(l, q, GroupBy::day, "day");

    // Providers: what each was asked (attempts) and how often its answer was the one served.
    std::map<std::string, int64_t> served;
    for (const Usage& u : l.usage(q, GroupBy::provider)) served[u.key] = u.requests;
    json providers = json::array();
    for (const ProviderUsage& p : l.provider_usage(q))
        providers.push_back({{"provider", p.provider},
                             {"attempts", p.attempts},
                             {"served", served.count(p.provider) ? served[p.provider] : 0},
                             {"failures", p.failures},
                             {"prompt_tokens", p.prompt_tokens},
                             {"completion_tokens", p.completion_tokens},
                             {"cost_usd", p.cost_usd}});
    r["by_provider"] = providers;

    if (baseline) {
        const double cost = (double(total.prompt_tokens) * baseline->input_per_mtok +
                             double(total.completion_tokens) * baseline->output_per_mtok) /
                            1e6;
        r["baseline"] = {{"provider", baseline->provider},
                         {"input_per_mtok", baseline->input_per_mtok},
                         {"output_per_mtok", baseline->output_per_mtok},
                         {"cost_usd", cost},
                         {"actual_cost_usd", total.cost_usd},
                         {"savings_usd", cost - total.cost_usd},
                         {"savings_fraction", cost > 0 ? (cost - total.cost_usd) / cost : 0.0}};
    }
    return r;
}

std::string format_cost_report(const json& r) {
    auto opt = [](const json& v) { return v.is_null() ? std::string("(any)") : v.get<std::string>(); };
    std::string s = fmt::format("Ledger {}\nFrom {} to {}, tenant {}, route {}\n\n", r["ledger"].get<std::string>(),
                                r["from"].is_null() ? "(start)" : r["from"].get<std::string>(),
                                r["to"].is_null() ? "(end)" : r["to"].get<std::string>(), opt(r["tenant"]),
                                opt(r["route"]));
    const json& t = r["totals"];
    s += fmt::format(
        "Requests      {}  ({} failed, {} escalated = {}, {} declined by budget)\n"
        "Tokens        {} prompt + {} completion (served answers)\n"
        "Spend         ${} = ${} remote + ${} local\n"
        "Mean latency  {:.1f} ms\n",
        t["requests"].get<int64_t>(), t["failed"].get<int64_t>(), t["escalated"].get<int64_t>(),
        percent(t["escalation_rate"].get<double>()), t["budget_limited"].get<int64_t>(),
        t["prompt_tokens"].get<int64_t>(), t["completion_tokens"].get<int64_t>(), money(t["cost_usd"].get<double>()),
        money(t["remote_cost_usd"].get<double>()), money(t["local_cost_usd"].get<double>()),
        t["mean_latency_ms"].get<double>());
    if (r.contains("baseline")) {
        const json& b = r["baseline"];
        const double saved = b["savings_usd"].get<double>();
        s += fmt::format("Baseline      every request on {} (${}/M in, ${}/M out) would have cost ${}: {} ${} ({})\n",
                         b["provider"].get<std::string>(), b["input_per_mtok"].get<double>(),
                         b["output_per_mtok"].get<double>(), money(b["cost_usd"].get<double>()),
                         saved >= 0 ? "saved" : "spent more", money(std::abs(saved)),
                         percent(std::abs(b["savings_fraction"].get<double>())));
    }
    s += usage_table(r["by_route"], "route", "route");
    std::vector<std::vector<std::string>> rows;
    for (const auto& p : r["by_provider"])
        rows.push_back({p["provider"].get<std::string>(), std::to_string(p["attempts"].get<int64_t>()),
                        std::to_string(p["served"].get<int64_t>()), std::to_string(p["failures"].get<int64_t>()),
                        std::to_string(p["prompt_tokens"].get<int64_t>()),
                        std::to_string(p["completion_tokens"].get<int64_t>()), money(p["cost_usd"].get<double>())});
    if (!rows.empty())
        s += "\nBy provider (every attempt, escalations included):\n" +
             table({"provider", "attempts", "served", "failures", "prompt tok", "completion tok", "cost $"}, rows);
    s += usage_table(r["by_tenant"], "tenant", "tenant");
    s += usage_table(r["by_day"], "day", "day (UTC)");
    return s;
}

}  // namespace kinglet::ledger
