// kinglet cost: what the ledger says was spent (by route, provider, day, tenant), what one provider
// alone would have cost for the same tokens; and with --project, what a month of given traffic would
// cost all on an API, all on self-hosted small-model machines, or both (a cascade).
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <memory>

#include "cli/command.h"
#include "cli/companion.h"
#include "core/error.h"
#include "ledger/cost_report.h"
#include "ledger/projection.h"
#include "ledger/url.h"

namespace kinglet::cli {
namespace {

struct Options {
    std::string ledger, config, from, to, tenant, route, baseline, bench, escalation = "0";
    double price_in = 0, price_out = 0;
    bool json = false, project = false;
    ledger::ProjectionInput p;
    CLI::Option *price_in_opt = nullptr, *price_out_opt = nullptr, *prefill_opt = nullptr, *decode_opt = nullptr,
                *rpd_opt = nullptr, *in_tok_opt = nullptr, *out_tok_opt = nullptr, *machine_opt = nullptr, *escalation_opt = nullptr;
};

YAML::Node load_yaml(const std::string& path) {
    try {
        return YAML::LoadFile(path);
    } catch (const YAML::BadFile&) {
        fail(Errc::not_found, "cannot read config file '{}'", path);
    } catch (const YAML::Exception& e) {
        fail(Errc::invalid_file, "{}: {}", path, e.what());
    }
}

std::string config_dir(const std::string& path) {
    const auto dir = std::filesystem::absolute(path).parent_path();
    return dir.string();
}

// The ledger URL of --ledger; else the one kinglet serve keeps for --config FILE: its `ledger: { url }`
// (relative SQLite paths from the file's folder) or, when it names none, kinglet-ledger.db in that
// folder; else the one kinglet serve keeps without a config file: kinglet-ledger.db here.
std::string ledger_url(const Options& o) {
    if (!o.ledger.empty()) return o.ledger;
    if (o.config.empty()) return ledger::default_ledger_url("");
    const YAML::Node root = load_yaml(o.config);
    const YAML::Node node = root.IsMap() ? root["ledger"] : YAML::Node();
    std::string url;
    try {
        if (node && node.IsScalar()) {
            if (node.Scalar() == "off")
                fail(Errc::invalid_argument, "{} says `ledger: off`: kinglet serve keeps no ledger with it; give --ledger URL",
                     o.config);
            fail(Errc::invalid_file, "{}: ledger: expected off or a mapping {{ url: ... }}", o.config);
        }
        if (node && node.IsMap() && node["url"]) url = node["url"].as<std::string>();
    } catch (const YAML::Exception& e) {
        fail(Errc::invalid_file, "{}: ledger.url: {}", o.config, e.what());
    }
    if (url.empty()) return ledger::default_ledger_url(config_dir(o.config));
    return ledger::resolve_ledger_url(url, config_dir(o.config));
}

// Prices of a provider (or local model) declared in the config file: `price: {input_per_mtok, output_per_mtok}`.
ledger::Baseline config_price(const std::string& config, const std::string& name) {
    const YAML::Node root = load_yaml(config);
    for (const char* section : {"providers", "models"}) {
        const YAML::Node n = root[section] && root[section].IsMap() ? root[section][name] : YAML::Node();
        if (!n || !n.IsMap() || !n["price"]) continue;
        try {
            return {name, n["price"]["input_per_mtok"].as<double>(), n["price"]["output_per_mtok"].as<double>()};
        } catch (const YAML::Exception& e) {
            fail(Errc::invalid_file, "{}: {}.{}.price needs input_per_mtok and output_per_mtok numbers ({})", config,
                 section, name, e.what());
        }
    }
    fail(Errc::not_found, "{}: no provider '{}' with a price {{input_per_mtok, output_per_mtok}}", config, name);
}

// --price-in/--price-out if given, else the config's prices of `name`.
ledger::Baseline prices(const Options& o, const std::string& name, const char* why) {
    const bool flags = o.price_in_opt->count() || o.price_out_opt->count();
    if (flags) {
        if (!o.price_in_opt->count() || !o.price_out_opt->count())
            fail(Errc::invalid_argument, "{}: give both --price-in and --price-out", why);
        if (o.price_in < 0 || o.price_out < 0) fail(Errc::invalid_argument, "{}: prices must be >= 0", why);
        return {name, o.price_in, o.price_out};
    }
    if (name.empty() || o.config.empty())
        fail(Errc::invalid_argument, "{}: give --price-in and --price-out, or --config FILE and --baseline PROVIDER", why);
    return config_price(o.config, name);
}

double parse_rate(const std::string& s) {
    try {
        size_t used = 0;
        double v = std::stod(s, &used);
        if (used + 1 == s.size() && s.back() == '%') v /= 100;
        else if (used != s.size()) throw std::invalid_argument(s);
        return v;
    } catch (const std::exception&) {
        fail(Errc::invalid_argument, "--escalation-rate wants a share (0.12) or a percentage (12%), got '{}'", s);
    }
}

// prefill_tps and decode_tps from `kinglet bench --json` output.
void read_bench(const std::string& path, ledger::ProjectionInput& p) {
    std::ifstream f(path);
    if (!f) fail(Errc::not_found, "cannot read bench results '{}'", path);
    try {
        const auto j = nlohmann::json::parse(f);
        p.prefill_tps = j.at("prefill_tps").get<double>();
        p.decode_tps = j.at("decode_tps").get<double>();
    } catch (const nlohmann::json::exception& e) {
        fail(Errc::invalid_file, "{}: not `kinglet bench --json` output with prefill_tps and decode_tps ({})", path,
             e.what());
    }
}

ledger::Query query(const Options& o) {
    ledger::Query q;
    if (!o.from.empty()) q.from_ms = ledger::parse_time_bound(o.from, false);
    if (!o.to.empty()) q.to_ms = ledger::parse_time_bound(o.to, true);
    if (q.from_ms >= q.to_ms && !o.from.empty() && !o.to.empty())
        fail(Errc::invalid_argument, "--from {} is not before --to {}", o.from, o.to);
    if (!o.tenant.empty()) q.tenant = o.tenant;
    if (!o.route.empty()) q.route = o.route;
    return q;
}

std::unique_ptr<ledger::Ledger> open_for_reading(const Options& o) {
    const std::string url = ledger_url(o);
    // Reading must not create a ledger where there is none (a typo would report an empty one).
    const auto u = ledger::parse_ledger_url(url);
    if (u.kind == ledger::LedgerUrl::Kind::sqlite && !std::filesystem::exists(u.target)) {
        if (o.ledger.empty())
            fail(Errc::not_found,
                 "ledger {}: no such file (kinglet serve writes its default ledger there{}; or give --ledger URL{})", url,
                 o.config.empty() ? " when run here without --config" : "", o.config.empty() ? " or --config FILE" : "");
        fail(Errc::not_found, "ledger {}: no such file", url);
    }
    return ledger::open_ledger(url);
}

// --project with a ledger: the traffic not given on the command line is the ledger's (in the
// --from/--to window): requests per day over the days that had requests, tokens per request and
// the escalation rate.
void traffic_from_ledger(Options& o) {
    auto l = open_for_reading(o);
    const ledger::Query q = query(o);
    const auto totals = l->usage(q, ledger::GroupBy::none);
    if (totals.empty()) fail(Errc::invalid_argument, "ledger {} has no requests in the window to project from", l->url());
    const ledger::Usage& t = totals[0];
    const double n = double(t.requests);
    const double days = double(l->usage(q, ledger::GroupBy::day).size());
    if (!o.rpd_opt->count()) o.p.requests_per_day = n / days;
    if (!o.in_tok_opt->count()) o.p.input_tokens = double(t.prompt_tokens) / n;
    if (!o.out_tok_opt->count()) o.p.output_tokens = double(t.completion_tokens) / n;
    if (!o.escalation_opt->count()) o.escalation = fmt::format("{}", double(t.escalated) / n);
}

int run_project(Options& o) {
    auto need = [](CLI::Option* opt) {
        if (!opt->count()) fail(Errc::invalid_argument, "--project needs {}", opt->get_name());
    };
    const bool from_ledger = !o.ledger.empty() || (!o.config.empty() && !(o.rpd_opt->count() && o.in_tok_opt->count() &&
                                                                           o.out_tok_opt->count()));
    if (from_ledger) traffic_from_ledger(o);
    else {
        need(o.rpd_opt);
        need(o.in_tok_opt);
        need(o.out_tok_opt);
    }
    need(o.machine_opt);
    if (!o.bench.empty()) read_bench(o.bench, o.p);
    if (o.prefill_opt->count() || o.bench.empty()) need(o.prefill_opt);
    if (o.decode_opt->count() || o.bench.empty()) need(o.decode_opt);
    const ledger::Baseline api = prices(o, o.baseline, "--project");
    o.p.api_input_per_mtok = api.input_per_mtok;
    o.p.api_output_per_mtok = api.output_per_mtok;
    o.p.escalation_rate = parse_rate(o.escalation);
    const auto proj = ledger::project(o.p);
    if (o.json) fmt::print("{}\n", ledger::to_json(proj).dump(2));
    else fmt::print("{}", ledger::format_projection(proj));
    return 0;
}

int run(Options& o) {
    if (o.project) return run_project(o);
    const ledger::Query q = query(o);
    std::optional<ledger::Baseline> baseline;
    if (!o.baseline.empty() || o.price_in_opt->count() || o.price_out_opt->count())
        baseline = prices(o, o.baseline.empty() ? "baseline" : o.baseline, "--baseline");
    auto l = open_for_reading(o);
    const auto report = ledger::cost_report(*l, q, baseline);
    if (o.json) fmt::print("{}\n", report.dump(2));
    else fmt::print("{}", ledger::format_cost_report(report));
    return 0;
}

const Registrar registrar{Command{
    "cost",
    std::string(companion_description("cost")),
    [](CLI::App& sub) {
        auto o = std::make_shared<Options>();
        sub.add_option("--ledger", o->ledger,
                       "Ledger URL: sqlite://PATH, a path, or postgresql://... (default: --config's ledger, else "
                       "./kinglet-ledger.db, where kinglet serve keeps it without a config file)");
        sub.add_option("--config", o->config, "kinglet.yaml: its ledger (ledger.url, else kinglet-ledger.db beside it), and provider prices for --baseline");
        sub.add_option("--from", o->from, "Start (UTC): YYYY-MM-DD, YYYY-MM or YYYY-MM-DDTHH:MM[:SS]");
        sub.add_option("--to", o->to, "End (UTC): a date or month is included whole; a time is exclusive");
        sub.add_option("--tenant", o->tenant, "Only this tenant's requests");
        sub.add_option("--route", o->route, "Only requests for this route (the model name clients sent)");
        sub.add_option("--baseline", o->baseline,
                       "Compare with every request on this provider (prices from --config or --price-in/--price-out)");
        o->price_in_opt = sub.add_option("--price-in", o->price_in, "Baseline/API USD per 1M input tokens");
        o->price_out_opt = sub.add_option("--price-out", o->price_out, "Baseline/API USD per 1M output tokens");
        sub.add_flag("--json", o->json, "Print JSON");
        sub.add_flag("--project", o->project, "Project the monthly cost of all-API, all-SLM and hybrid instead");
        o->rpd_opt = sub.add_option("--requests-per-day", o->p.requests_per_day, "--project: requests per day");
        o->in_tok_opt = sub.add_option("--input-tokens", o->p.input_tokens, "--project: input tokens per request");
        o->out_tok_opt = sub.add_option("--output-tokens", o->p.output_tokens, "--project: output tokens per request");
        o->prefill_opt = sub.add_option("--prefill-tps", o->p.prefill_tps,
                                        "--project: measured local prompt tokens/s (all requests together)");
        o->decode_opt = sub.add_option("--decode-tps", o->p.decode_tps,
                                       "--project: measured local generated tokens/s (all requests together)");
        sub.add_option("--bench", o->bench, "--project: take --prefill-tps/--decode-tps from `kinglet bench --json` output");
        o->machine_opt = sub.add_option("--machine-usd-per-hour", o->p.machine_usd_per_hour,
                                        "--project: what one machine running the small model costs per hour");
        o->escalation_opt = sub.add_option("--escalation-rate", o->escalation, "--project: share of requests the hybrid sends on (0.1 or 10%; default: the ledger's, else 0)")
            ->capture_default_str();
        sub.add_option("--peak-factor", o->p.peak_factor, "--project: peak load / mean load (machines are sized for peak)")
            ->capture_default_str();
        sub.add_option("--days-per-month", o->p.days_per_month, "--project: days in a month")->capture_default_str();
        sub.footer("Spend is what the ledger recorded (every attempt's cost); the baseline applies its prices to the "
                   "served answers' token counts. --project with --ledger/--config takes the traffic not given "
                   "(requests/day, tokens per request, escalation rate) from the ledger. See docs/cost.md.");
        return [o] { return run(*o); };
    },
}};

}  // namespace
}  // namespace kinglet::cli
