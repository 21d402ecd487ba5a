#include "eval/config_targets.h"

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <functional>

#include "core/error.h"
#include "router/route.h"
#include "server/local_model.h"
#include "server/routing_setup.h"

namespace kinglet::eval {

namespace {

std::vector<std::string> children(const server::RouteConfig& rt) {
    std::vector<std::string> out;
    auto add = [&](const server::Target& t) { out.insert(out.end(), t.begin(), t.end()); };
    for (const auto& s : rt.steps) add(s.target);
    add(rt.default_target);
    for (const auto& d : rt.domains) add(d.target);
    for (const auto& [_, t] : rt.tiers) add(t);
    add(rt.targets);
    if (!rt.embedding_model.empty()) out.push_back(rt.embedding_model);
    return out;
}

std::string joined(const std::vector<std::string>& names) {
    std::string s;
    for (const auto& n : names) s += (s.empty() ? "" : "|") + n;
    return s;
}

}  // namespace

ConfigTargets::ConfigTargets(const std::string& path, int threads, bool quiet)
    : cfg_(server::load_config(path)),
      threads_(threads),
      quiet_(quiet),
      registry_(std::make_shared<router::Registry>()) {
    server::validate(cfg_);
}

ConfigTargets::~ConfigTargets() {
    // Local engines finish nothing more: the run is over.
    for (const auto& [name, p] : registry_->list()) p->shutdown(std::chrono::steady_clock::now());
}

// Everything `names` reach, built once: providers and routes through register_routing on the part of
// the file they need, local models loaded as kinglet serve loads them.
void ConfigTargets::build(const std::vector<std::string>& names) {
    std::set<std::string> reach;
    std::function<void(const std::string&)> visit = [&](const std::string& n) {
        if (built_.count(n) || !reach.insert(n).second) return;
        for (const auto& rt : cfg_.routing.routes)
            if (rt.name == n)
                for (const auto& c : children(rt)) visit(c);
    };
    for (const auto& n : names) visit(n);
    if (reach.empty()) return;
    server::Config part;
    part.path = cfg_.path;
    for (const auto& p : cfg_.routing.providers)
        if (reach.count(p.name)) part.routing.providers.push_back(p);
    for (const auto& r : cfg_.routing.routes)
        if (reach.count(r.name)) part.routing.routes.push_back(r);
    server::register_routing(part, registry_);
    for (auto mc : cfg_.models) {
        if (!reach.count(mc.name)) continue;
        if (threads_ > 0) mc.threads = threads_;
        const auto t0 = std::chrono::steady_clock::now();
        registry_->add(mc.name, server::meter_local(mc, server::load_local_model(mc)));
        if (!quiet_)
            std::fprintf(stderr, "kinglet eval: model '%s' loaded from %s in %.1f s\n", mc.name.c_str(),
                         mc.path.c_str(),
                         std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    built_.insert(reach.begin(), reach.end());
}

std::shared_ptr<router::Provider> ConfigTargets::provider(const TargetSpec& spec) {
    using K = TargetSpec::Kind;
    if (!spec.fallback.empty()) {
        build(spec.fallback);
        std::weak_ptr<router::Registry> weak = registry_;
        return router::make_fallback(spec.name, spec.fallback,
                                     [weak](const std::string& n) -> std::shared_ptr<router::Provider> {
                                         auto r = weak.lock();
                                         return r ? r->find(n) : nullptr;
                                     });
    }
    const std::string& name = spec.path;
    bool found = false;
    if (spec.kind == K::remote) {
        for (const auto& p : cfg_.routing.providers) found |= p.name == name;
        if (!found) {
            std::string known;
            for (const auto& p : cfg_.routing.providers) known += (known.empty() ? "" : ", ") + p.name;
            fail(Errc::invalid_argument, "target '{}': {} declares no provider '{}' under providers: ({})",
                 spec.text, cfg_.path, name, known.empty() ? "it declares none" : "it declares " + known);
        }
    } else if (spec.kind == K::route) {
        for (const auto& r : cfg_.routing.routes) found |= r.name == name;
        if (!found) {
            std::string known;
            for (const auto& r : cfg_.routing.routes) known += (known.empty() ? "" : ", ") + r.name;
            fail(Errc::invalid_argument, "target '{}': {} declares no route '{}' under routes: ({})",
                 spec.text, cfg_.path, name, known.empty() ? "it declares none" : "it declares " + known);
        }
    } else if (spec.kind == K::model) {
        for (const auto& m : cfg_.models) found |= m.name == name;
        if (!found) {
            std::string known;
            for (const auto& m : cfg_.models) known += (known.empty() ? "" : ", ") + m.name;
            fail(Errc::invalid_argument, "target '{}': {} declares no model '{}' under models: ({})",
                 spec.text, cfg_.path, name, known.empty() ? "it declares none" : "it declares " + known);
        }
    } else {
        fail(Errc::internal, "target '{}' is not a config target", spec.text);
    }
    build({name});
    auto p = registry_->find(name);
    if (!p) fail(Errc::internal, "target '{}': '{}' was not built", spec.text, name);
    return p;
}

CalibrationRoute ConfigTargets::calibration_route(const std::string& route) const {
    const server::RouteConfig* rc = nullptr;
    for (const auto& r : cfg_.routing.routes)
        if (r.name == route) rc = &r;
    if (!rc)
        fail(Errc::invalid_argument, "--calibrate {}: {} declares no route '{}' under routes:", route,
             cfg_.path, route);
    if (rc->policy != "cascade")
        fail(Errc::invalid_argument,
             "--calibrate {}: {}: route '{}' is a {} route; calibration needs policy: cascade", route,
             rc->origin, route, rc->policy);
    if (rc->steps.size() < 2)
        fail(Errc::invalid_argument, "--calibrate {}: {}: cascade route '{}' needs at least two steps", route,
             rc->origin, route);
    auto step = [&](const server::StepConfig& s) {
        CalibrationStep out;
        out.name = joined(s.target);
        const std::string& first = s.target.at(0);
        const server::ModelConfig* model = nullptr;
        for (const auto& m : cfg_.models)
            if (m.name == first) model = &m;
        const server::ProviderConfig* prov = nullptr;
        for (const auto& p : cfg_.routing.providers)
            if (p.name == first) prov = &p;
        const server::PriceConfig* price = model ? &model->price : prov ? &prov->price : nullptr;
        if (price && (price->input_per_mtok > 0 || price->output_per_mtok > 0))
            out.price = Price{price->input_per_mtok, price->output_per_mtok};
        if (model && model->price.per_hour_usd > 0) out.usd_per_hour = model->price.per_hour_usd;
        if (s.target.size() > 1) {
            // An inline fallback list: run as the router runs it.
            out.target.kind = TargetSpec::Kind::route;
            out.target.text = "[" + out.name + "]";
            out.target.path = out.name;
            out.target.fallback = s.target;
        } else if (model) {
            // As the route runs it: the label constrained generation produces, its probability over the
            // set — so the threshold calibrated here is the one the router compares.
            out.target = parse_target("model:" + first);
        } else if (prov) {
            out.target = parse_target("remote:" + first);
        } else {
            out.target = parse_target("route:" + first);
        }
        out.target.name = out.name;
        return out;
    };
    CalibrationRoute c;
    c.route = route;
    c.labels = rc->labels;
    c.small = step(rc->steps[0]);
    c.large = step(rc->steps[1]);
    c.signal = rc->steps[0].signal;
    if (!c.signal.empty()) c.min_confidence = rc->steps[0].min_confidence;
    return c;
}

}  // namespace kinglet::eval
