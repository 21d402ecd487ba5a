#include "server/routing_config.h"

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>

#include "core/error.h"
#include "ledger/url.h"
#include "server/config.h"

namespace kinglet::server {

namespace {

namespace fs = std::filesystem;

std::string resolve_path(const std::string& base_dir, const std::string& p) {
    if (p.empty() || fs::path(p).is_absolute() || base_dir.empty()) return p;
    return (fs::path(base_dir) / p).lexically_normal().string();
}

Target read_target(YamlMap& m, const std::string& key, bool required, const YAML::Node& where) {
    auto v = m.strings(key);
    if (!v) {
        if (required) m.fail_at(where, key, "is required (a model, provider or route name, or a list of them)");
        return {};
    }
    if (v->empty()) m.fail_at(m.node(key), key, "must name at least one model, provider or route");
    return *v;
}

const std::set<std::string> kSignals = {"mean_logprob", "min_logprob", "label_prob"};

StepConfig read_step(const YAML::Node& n, const YamlMap& parent, const std::string& where) {
    StepConfig s;
    s.origin = parent.at(n);
    if (n.IsScalar()) {  // - small
        s.target = {n.Scalar()};
        return s;
    }
    YamlMap m(n, where, parent.file());
    s.target = read_target(m, "target", true, n);
    if (auto v = m.string("signal")) {
        if (!kSignals.count(*v)) m.fail_at(m.node("signal"), "signal", "must be mean_logprob, min_logprob or label_prob");
        s.signal = *v;
    }
    if (auto v = m.number("min_confidence", -1e9, 1e9)) {
        if (s.signal.empty()) m.fail_at(m.node("min_confidence"), "min_confidence", "needs a signal");
        if (s.signal == "label_prob" && (*v < 0 || *v > 1))
            m.fail_at(m.node("min_confidence"), "min_confidence", "a label_prob threshold is a probability (0..1)");
        if (s.signal != "label_prob" && *v > 0)
            m.fail_at(m.node("min_confidence"), "min_confidence", "a log-probability threshold is <= 0");
        s.min_confidence = *v;
    } else if (!s.signal.empty()) {
        m.fail_at(n, "min_confidence", "is required with a signal");
    }
    m.finish();
    return s;
}

RouteConfig read_route(const YamlMap::Entry& e, const YamlMap& parent) {
    RouteConfig r;
    r.name = e.key;
    r.origin = parent.at(e.key_node);
    if (!valid_model_name(r.name))
        parent.fail_at(e.key_node, r.name, "a route name may use letters, digits and . _ - : / only");
    YamlMap m(e.value, parent.path(e.key), parent.file());
    auto policy = m.string("policy");
    if (!policy) parent.fail_at(e.key_node, r.name, "'policy' is required: cascade, domain, tier or fallback");
    r.policy = *policy;
    if (auto v = m.strings("labels")) {
        std::set<std::string> seen;
        for (const auto& l : *v) {
            if (l.empty()) m.fail_at(m.node("labels"), "labels", "a label must not be empty");
            if (!seen.insert(l).second) m.fail_at(m.node("labels"), "labels", fmt::format("'{}' is listed twice", l));
        }
        if (v->empty()) m.fail_at(m.node("labels"), "labels", "must list at least one label");
        r.labels = *v;
    }
    if (r.policy == "cascade") {
        YAML::Node steps = m.node("steps");
        if (!steps || !steps.IsSequence() || steps.size() == 0)
            m.fail_at(steps ? steps : e.key_node, "steps", "a cascade needs a list of steps, small to large");
        for (size_t i = 0; i < steps.size(); ++i)
            r.steps.push_back(read_step(steps[i], m, m.path(fmt::format("steps[{}]", i))));
        for (size_t i = 0; i < r.steps.size(); ++i) {
            if (r.steps[i].signal == "label_prob" && r.labels.empty())
                m.fail_at(steps[i], fmt::format("steps[{}]", i), "signal label_prob needs the route's labels");
            if (i + 1 < r.steps.size() && r.steps[i].signal.empty())
                m.fail_at(steps[i], fmt::format("steps[{}]", i),
                          "every step but the last needs a signal and min_confidence (when to escalate)");
        }
    } else if (r.policy == "domain") {
        r.default_target = read_target(m, "default", true, e.key_node);
        if (auto v = m.string("embedding_model")) r.embedding_model = *v;
        if (auto v = m.number("min_similarity", -1, 1)) r.min_similarity = *v;
        auto domains = m.map("domains");
        if (!domains) m.fail_at(e.key_node, "domains", "a domain route needs domains");
        for (const auto& d : domains->entries()) {
            DomainConfig dc;
            dc.name = d.key;
            dc.origin = domains->at(d.key_node);
            YamlMap dm(d.value, domains->path(d.key), domains->file());
            dc.target = read_target(dm, "target", true, d.key_node);
            if (auto v = dm.strings("keywords")) dc.keywords = *v;
            if (auto v = dm.strings("patterns")) dc.patterns = *v;
            if (auto v = dm.strings("examples")) dc.examples = *v;
            if (dc.keywords.empty() && dc.patterns.empty() && dc.examples.empty())
                domains->fail_at(d.key_node, d.key, "give keywords, patterns or examples");
            if (!dc.examples.empty() && r.embedding_model.empty())
                dm.fail_at(dm.node("examples"), "examples", "semantic examples need the route's embedding_model");
            dm.finish();
            r.domains.push_back(std::move(dc));
        }
    } else if (r.policy == "tier") {
        auto tiers = m.map("tiers");
        if (!tiers) m.fail_at(e.key_node, "tiers", "a tier route needs tiers: {tier: target, ...}");
        for (const auto& t : tiers->entries()) {
            Target target;
            if (t.value.IsScalar()) target = {t.value.Scalar()};
            else if (t.value.IsSequence())
                for (const auto& x : t.value) {
                    if (!x.IsScalar()) tiers->fail_at(x, t.key, "expected a name or a list of names");
                    target.push_back(x.Scalar());
                }
            if (target.empty()) tiers->fail_at(t.key_node, t.key, "expected a model, provider or route name");
            r.tiers[t.key] = target;
        }
        if (r.tiers.empty()) m.fail_at(e.key_node, "tiers", "list at least one tier");
    } else if (r.policy == "fallback") {
        r.targets = read_target(m, "targets", true, e.key_node);
    } else {
        m.fail_at(m.node("policy"), "policy", fmt::format("unknown policy '{}': cascade, domain, tier or fallback", r.policy));
    }
    m.finish();
    return r;
}

std::vector<std::string> read_keys_file(const std::string& path, const std::string& origin) {
    std::ifstream in(path);
    if (!in) fail(Errc::not_found, "{}: cannot open keys file {}", origin, path);
    std::vector<std::string> keys;
    std::string line;
    while (std::getline(in, line)) {
        const size_t a = line.find_first_not_of(" \t\r");
        if (a == std::string::npos || line[a] == '#') continue;
        const size_t b = line.find_last_not_of(" \t\r");
        keys.push_back(line.substr(a, b - a + 1));
    }
    return keys;
}

}  // namespace

void read_price(YamlMap& m, PriceConfig& out, bool allow_hourly) {
    if (allow_hourly)
        if (auto v = m.number("price_per_hour_usd", 0, 1e6)) out.per_hour_usd = *v;
    if (auto p = m.map("price")) {
        if (out.per_hour_usd > 0)
            m.fail_at(m.node("price"), "price", "give either price_per_hour_usd or price, not both");
        if (auto v = p->number("input_per_mtok", 0, 1e6)) out.input_per_mtok = *v;
        if (auto v = p->number("output_per_mtok", 0, 1e6)) out.output_per_mtok = *v;
        p->finish();
    }
}

void read_providers(YamlMap m, std::vector<ProviderConfig>& out) {
    for (const auto& e : m.entries()) {
        ProviderConfig p;
        p.name = e.key;
        p.origin = m.at(e.key_node);
        if (!valid_model_name(p.name))
            m.fail_at(e.key_node, p.name, "a provider name may use letters, digits and . _ - : / only");
        YamlMap pm(e.value, m.path(e.key), m.file());
        auto url = pm.string("base_url");
        if (!url || url->empty()) m.fail_at(e.key_node, e.key, "'base_url' is required (e.g. https://api.example.com/v1)");
        if (url->rfind("http://", 0) != 0 && url->rfind("https://", 0) != 0)
            pm.fail_at(pm.node("base_url"), "base_url", "must start with http:// or https://");
        p.base_url = *url;
        if (auto v = pm.string("api_key_env")) p.api_key_env = *v;
        p.model = pm.string("model").value_or(p.name);
        read_price(pm, p.price, false);
        if (auto v = pm.number("timeout_s", 0.001, 1e5)) p.timeout_s = *v;
        if (auto v = pm.number("connect_timeout_s", 0.001, 1e4)) p.connect_timeout_s = *v;
        if (auto v = pm.integer("max_retries", 0, 20)) p.max_retries = int(*v);
        if (auto v = pm.number("retry_backoff_s", 0, 600)) p.retry_backoff_s = *v;
        if (auto v = pm.integer("context_length", 0, 1 << 24)) p.context_length = int(*v);
        pm.finish();
        out.push_back(std::move(p));
    }
}

void read_routes(YamlMap m, std::vector<RouteConfig>& out) {
    for (const auto& e : m.entries()) out.push_back(read_route(e, m));
}

void read_tenants(YamlMap m, std::vector<TenantConfig>& out, const std::string& base_dir) {
    for (const auto& e : m.entries()) {
        TenantConfig t;
        t.name = e.key;
        t.origin = m.at(e.key_node);
        YamlMap tm(e.value, m.path(e.key), m.file());
        if (auto v = tm.string("key")) t.keys.push_back(*v);
        if (auto v = tm.strings("keys")) t.keys.insert(t.keys.end(), v->begin(), v->end());
        if (auto v = tm.string("key_env")) {
            const char* k = std::getenv(v->c_str());
            if (!k || !*k) tm.fail_at(tm.node("key_env"), "key_env", fmt::format("environment variable {} is not set", *v));
            t.keys.push_back(k);
        }
        if (auto v = tm.string("keys_file")) {
            auto keys = read_keys_file(resolve_path(base_dir, *v), tm.at(tm.node("keys_file")));
            t.keys.insert(t.keys.end(), keys.begin(), keys.end());
        }
        for (const auto& k : t.keys)
            if (k.empty()) m.fail_at(e.key_node, e.key, "an API key must not be empty");
        if (t.keys.empty()) m.fail_at(e.key_node, e.key, "a tenant needs key, keys, key_env or keys_file");
        t.tier = tm.string("tier").value_or("default");
        if (auto v = tm.number("monthly_remote_usd", 0, 1e12)) t.monthly_remote_usd = *v;
        if (auto v = tm.string("on_budget_exceeded")) {
            if (*v != "serve_local" && *v != "reject")
                tm.fail_at(tm.node("on_budget_exceeded"), "on_budget_exceeded", "must be serve_local or reject");
            t.reject_over_budget = *v == "reject";
        }
        tm.finish();
        out.push_back(std::move(t));
    }
}

void read_ledger(const YAML::Node& n, const YamlMap& parent, LedgerConfig& out, const std::string& base_dir) {
    out = {};
    if (n && n.IsScalar()) {
        if (n.Scalar() != "off")
            parent.fail_at(n, "ledger", "expected off (no ledger) or a mapping { url: sqlite://PATH | postgresql://... }");
        return;
    }
    YamlMap m(n, parent.path("ledger"), parent.file());
    if (auto v = m.string("url")) {
        try {
            (void)ledger::parse_ledger_url(*v);
        } catch (const Error& e) {
            m.fail_at(m.node("url"), "url", e.what());
        }
        // Relative SQLite paths are relative to the config file, like every other path in it.
        out.url = ledger::resolve_ledger_url(*v, base_dir);
    } else {
        out.url = ledger::default_ledger_url(base_dir);
        out.is_default = true;
    }
    m.finish();
}

void validate_routing(const RoutingConfig& r, const std::vector<std::string>& model_names) {
    std::map<std::string, std::string> kind;  // name -> model | provider | route
    for (const auto& n : model_names) kind[n] = "model";
    for (const auto& p : r.providers)
        if (!kind.emplace(p.name, "provider").second)
            fail(Errc::invalid_argument, "{}: provider '{}': the name is already a {}", p.origin, p.name, kind[p.name]);
    std::map<std::string, const RouteConfig*> routes;
    for (const auto& rt : r.routes) {
        if (!kind.emplace(rt.name, "route").second)
            fail(Errc::invalid_argument, "{}: route '{}': the name is already a {}", rt.origin, rt.name, kind[rt.name]);
        routes[rt.name] = &rt;
    }
    auto check = [&](const RouteConfig& rt, const Target& t, const std::string& where) {
        for (const auto& n : t)
            if (!kind.count(n))
                fail(Errc::invalid_argument, "{}: route '{}': {} names '{}', which is not a model, provider or route",
                     rt.origin, rt.name, where, n);
    };
    auto children = [](const RouteConfig& rt) {
        std::vector<std::string> out;
        auto add = [&](const Target& t) { out.insert(out.end(), t.begin(), t.end()); };
        for (const auto& s : rt.steps) add(s.target);
        add(rt.default_target);
        for (const auto& d : rt.domains) add(d.target);
        for (const auto& [_, t] : rt.tiers) add(t);
        add(rt.targets);
        return out;
    };
    for (const auto& rt : r.routes) {
        for (size_t i = 0; i < rt.steps.size(); ++i) check(rt, rt.steps[i].target, fmt::format("steps[{}]", i));
        check(rt, rt.default_target, "default");
        for (const auto& d : rt.domains) check(rt, d.target, "domain " + d.name);
        for (const auto& [tier, t] : rt.tiers) check(rt, t, "tier " + tier);
        check(rt, rt.targets, "targets");
        if (!rt.embedding_model.empty() && kind[rt.embedding_model] != "model")
            fail(Errc::invalid_argument, "{}: route '{}': embedding_model '{}' must be a local model of this server",
                 rt.origin, rt.name, rt.embedding_model);
    }
    // Cycles: depth-first over route -> route references.
    std::map<std::string, int> state;  // 1 = on the path, 2 = done
    std::function<void(const std::string&, std::vector<std::string>&)> visit = [&](const std::string& n,
                                                                                 std::vector<std::string>& path) {
        auto it = routes.find(n);
        if (it == routes.end() || state[n] == 2) return;
        path.push_back(n);
        if (state[n] == 1) {
            std::string cycle;
            for (const auto& p : path) cycle += (cycle.empty() ? "" : " -> ") + p;
            fail(Errc::invalid_argument, "{}: route '{}' refers to itself: {}", it->second->origin, n, cycle);
        }
        state[n] = 1;
        for (const auto& c : children(*it->second)) visit(c, path);
        state[n] = 2;
        path.pop_back();
    };
    for (const auto& rt : r.routes) {
        std::vector<std::string> path;
        visit(rt.name, path);
    }
    std::map<std::string, std::string> key_owner;
    for (const auto& t : r.tenants)
        for (const auto& k : t.keys) {
            auto [it, fresh] = key_owner.emplace(k, t.name);
            if (!fresh)
                fail(Errc::invalid_argument, "{}: tenant '{}': an API key is also tenant '{}''s", t.origin, t.name, it->second);
        }
}

}  // namespace kinglet::server
