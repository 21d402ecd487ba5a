#include "ledger/projection.h"

#include <fmt/format.h>

#include <cmath>

#include "core/error.h"

namespace kinglet::ledger {
namespace {

void check(double v, const char* field, double min, bool strictly = false, double max = INFINITY) {
    if (!std::isfinite(v) || v < min || (strictly && v == min) || v > max) {
        if (std::isfinite(max))
            fail(Errc::invalid_argument, "projection: {} must be between {} and {}, got {}", field, min, max, v);
        fail(Errc::invalid_argument, "projection: {} must be {} {}, got {}", field, strictly ? ">" : ">=", min, v);
    }
}

}  // namespace

Projection project(const ProjectionInput& in) {
    check(in.requests_per_day, "requests_per_day", 0);
    check(in.input_tokens, "input_tokens", 0);
    check(in.output_tokens, "output_tokens", 0);
    check(in.api_input_per_mtok, "api_input_per_mtok", 0);
    check(in.api_output_per_mtok, "api_output_per_mtok", 0);
    check(in.prefill_tps, "prefill_tps", 0, true);
    check(in.decode_tps, "decode_tps", 0, true);
    check(in.machine_usd_per_hour, "machine_usd_per_hour", 0);
    check(in.escalation_rate, "escalation_rate", 0, false, 1);
    check(in.peak_factor, "peak_factor", 1);
    check(in.days_per_month, "days_per_month", 0, true);

    Projection p;
    p.input = in;
    p.monthly_requests = in.requests_per_day * in.days_per_month;
    p.api_usd_per_request = (in.input_tokens * in.api_input_per_mtok + in.output_tokens * in.api_output_per_mtok) / 1e6;
    p.local_seconds_per_request = in.input_tokens / in.prefill_tps + in.output_tokens / in.decode_tps;

    const double all_api = p.monthly_requests * p.api_usd_per_request;
    // Busy machine-seconds per second of the day = machines needed at mean load.
    const double mean_load = in.requests_per_day * p.local_seconds_per_request / 86400.0;
    const int machines = std::max(1, int(std::ceil(mean_load * in.peak_factor - 1e-9)));
    const double local = machines * in.machine_usd_per_hour * 24.0 * in.days_per_month;
    const double utilization = mean_load / machines;

    auto option = [&](const char* name, double api, double loc, int m, double util) {
        ProjectedOption o;
        o.name = name;
        o.api_usd = api;
        o.local_usd = loc;
        o.monthly_usd = api + loc;
        o.machines = m;
        o.utilization = util;
        o.usd_per_1k_requests = p.monthly_requests > 0 ? o.monthly_usd / p.monthly_requests * 1000 : 0;
        o.savings_vs_api_usd = all_api - o.monthly_usd;
        o.savings_vs_api_fraction = all_api > 0 ? o.savings_vs_api_usd / all_api : 0;
        p.options.push_back(o);
    };
    option("all_api", all_api, 0, 0, 0);
    option("all_slm", 0, local, machines, utilization);
    option("hybrid", all_api * in.escalation_rate, local, machines, utilization);
    return p;
}

nlohmann::json to_json(const Projection& p) {
    const ProjectionInput& in = p.input;
    nlohmann::json j;
    j["input"] = {{"requests_per_day", in.requests_per_day},     {"input_tokens", in.input_tokens},
                  {"output_tokens", in.output_tokens},           {"api_input_per_mtok", in.api_input_per_mtok},
                  {"api_output_per_mtok", in.api_output_per_mtok}, {"prefill_tps", in.prefill_tps},
                  {"decode_tps", in.decode_tps},                 {"machine_usd_per_hour", in.machine_usd_per_hour},
                  {"escalation_rate", in.escalation_rate},       {"peak_factor", in.peak_factor},
                  {"days_per_month", in.days_per_month}};
    j["monthly_requests"] = p.monthly_requests;
    j["api_usd_per_request"] = p.api_usd_per_request;
    j["local_seconds_per_request"] = p.local_seconds_per_request;
    j["options"] = nlohmann::json::array();
    for (const auto& o : p.options)
        j["options"].push_back({{"name", o.name},
                                {"monthly_usd", o.monthly_usd},
                                {"api_usd", o.api_usd},
                                {"local_usd", o.local_usd},
                                {"machines", o.machines},
                                {"utilization", o.utilization},
                                {"usd_per_1k_requests", o.usd_per_1k_requests},
                                {"savings_vs_api_usd", o.savings_vs_api_usd},
                                {"savings_vs_api_fraction", o.savings_vs_api_fraction}});
    return j;
}

std::string format_projection(const Projection& p) {
    const ProjectionInput& in = p.input;
    std::string s = fmt::format(
        "Traffic: {:.0f} requests/day x {:.0f} days = {:.0f} requests/month, {:.0f} input + {:.0f} output tokens each\n"
        "API: ${}/M input, ${}/M output = ${:.6f} per request\n"
        "Local: {:.0f} prefill + {:.0f} decode tokens/s = {:.3f} machine-seconds per request; ${}/hour per machine, "
        "peak x{}\n"
        "Hybrid: {:.1f}% of requests escalated to the API\n\n",
        in.requests_per_day, in.days_per_month, p.monthly_requests, in.input_tokens, in.output_tokens,
        in.api_input_per_mtok, in.api_output_per_mtok, p.api_usd_per_request, in.prefill_tps, in.decode_tps,
        p.local_seconds_per_request, in.machine_usd_per_hour, in.peak_factor, in.escalation_rate * 100);
    s += fmt::format("{:<9} {:>14} {:>12} {:>12} {:>9} {:>6} {:>11} {:>14}\n", "option", "monthly $", "API $",
                     "machines $", "machines", "busy", "$/1k req", "vs all-API");
    for (const auto& o : p.options) {
        const std::string vs = o.name == "all_api" ? "-" : fmt::format("{:+.1f}%", -o.savings_vs_api_fraction * 100);
        const std::string busy = o.machines ? fmt::format("{:.0f}%", o.utilization * 100) : "-";
        s += fmt::format("{:<9} {:>14.2f} {:>12.2f} {:>12.2f} {:>9} {:>6} {:>11.4f} {:>14}\n", o.name, o.monthly_usd,
                         o.api_usd, o.local_usd, o.machines, busy, o.usd_per_1k_requests, vs);
    }
    return s;
}

}  // namespace kinglet::ledger
