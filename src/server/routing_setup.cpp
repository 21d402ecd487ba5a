#include "server/routing_setup.h"

#include <cstdlib>
#include <fstream>

#include "core/error.h"
#include "core/log.h"
#include "router/metered_provider.h"
#include "router/remote_provider.h"
#include "router/route.h"

namespace kinglet::server {

namespace {

router::Pricing pricing(const PriceConfig& p) {
    router::Pricing r;
    r.input_per_mtok = p.input_per_mtok;
    r.output_per_mtok = p.output_per_mtok;
    r.per_hour_usd = p.per_hour_usd;
    return r;
}

std::shared_ptr<router::Provider> make_route(const RouteConfig& rc, router::Resolver resolve) {
    if (rc.policy == "cascade") {
        std::vector<router::CascadeStep> steps;
        for (const auto& s : rc.steps) {
            router::CascadeStep cs;
            cs.target = s.target;
            cs.signal = router::signal_from_name(s.signal);
            cs.min_confidence = s.min_confidence;
            steps.push_back(std::move(cs));
        }
        return router::make_cascade(rc.name, std::move(steps), rc.labels, std::move(resolve));
    }
    if (rc.policy == "fallback") return router::make_fallback(rc.name, rc.targets, std::move(resolve));
    if (rc.policy == "tier") {
        std::vector<std::pair<std::string, router::TargetNames>> tiers(rc.tiers.begin(), rc.tiers.end());
        return router::make_tier(rc.name, std::move(tiers), rc.labels, std::move(resolve));
    }
    std::vector<router::DomainRule> domains;
    for (const auto& d : rc.domains) domains.push_back({d.name, d.target, d.keywords, d.patterns, d.examples});
    try {
        return router::make_domain(rc.name, std::move(domains), rc.default_target, rc.embedding_model, rc.min_similarity,
                                   rc.labels, std::move(resolve));
    } catch (const Error& e) {
        fail(e.code(), "{}: {}", rc.origin, e.what());
    }
}

}  // namespace

std::shared_ptr<router::Provider> meter_local(const ModelConfig& mc, std::shared_ptr<router::Provider> local) {
    return std::make_shared<router::MeteredProvider>(mc.name, std::move(local), pricing(mc.price), false);
}

void register_routing(const Config& c, const std::shared_ptr<router::Registry>& registry) {
    for (const auto& p : c.routing.providers) {
        router::RemoteOptions o;
        o.name = p.name;
        o.base_url = p.base_url;
        o.model = p.model;
        o.timeout_s = p.timeout_s;
        o.connect_timeout_s = p.connect_timeout_s;
        o.max_retries = p.max_retries;
        o.retry_base_s = p.retry_backoff_s;
        o.context_length = p.context_length;
        if (!p.api_key_env.empty()) {
            const char* k = std::getenv(p.api_key_env.c_str());
            if (!k || !*k)
                fail(Errc::invalid_argument, "{}: provider '{}': environment variable {} (api_key_env) is not set",
                     p.origin, p.name, p.api_key_env);
            o.api_key = k;
        }
        auto remote = std::make_shared<router::RemoteProvider>(std::move(o));
        registry->add(p.name, std::make_shared<router::MeteredProvider>(p.name, remote, pricing(p.price), true));
    }
    std::weak_ptr<router::Registry> weak = registry;
    router::Resolver resolve = [weak](const std::string& name) -> std::shared_ptr<router::Provider> {
        auto r = weak.lock();
        return r ? r->find(name) : nullptr;
    };
    for (const auto& rc : c.routing.routes) registry->add(rc.name, make_route(rc, resolve));
}

KeysAndAccounting make_accounting(const Config& c, std::shared_ptr<ledger::Ledger> ledger) {
    KeysAndAccounting out;
    std::vector<int> key_tenant;
    for (const auto& k : c.server.api_keys) {
        out.keys.add(k);
        key_tenant.push_back(-1);
    }
    if (!c.server.api_keys_file.empty()) {
        const size_t before = out.keys.size();
        out.keys.add_file(c.server.api_keys_file);
        key_tenant.resize(key_tenant.size() + (out.keys.size() - before), -1);
    }
    std::vector<Tenant> tenants;
    for (size_t i = 0; i < c.routing.tenants.size(); ++i) {
        const auto& tc = c.routing.tenants[i];
        Tenant t;
        t.name = tc.name;
        t.tier = tc.tier;
        t.monthly_remote_usd = tc.monthly_remote_usd;
        t.reject_over_budget = tc.reject_over_budget;
        tenants.push_back(std::move(t));
        for (const auto& k : tc.keys) {
            out.keys.add(k);
            key_tenant.push_back(int(i));
        }
    }
    bool budgets = false;
    for (const auto& t : tenants) budgets |= t.monthly_remote_usd.has_value();
    if (budgets && !ledger)
        log::warn("tenants have monthly budgets but the ledger is off: spend is counted from process start only");
    out.accounting = std::make_shared<Accounting>(std::move(tenants), std::move(key_tenant), std::move(ledger));
    return out;
}

}  // namespace kinglet::server
