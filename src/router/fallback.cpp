// The fallback policy (router/route.h): targets in order, the next one after an error or time-out, as
// long as nothing has been streamed to the client.
#include "core/error.h"
#include "router/route.h"
#include "router/step_run.h"

namespace kinglet::router {

namespace {

struct FallbackConfig {
    std::string name;
    TargetNames targets;
    Resolver resolve;
};

class FallbackRun : public StepRun, public std::enable_shared_from_this<FallbackRun> {
public:
    FallbackRun(std::shared_ptr<const FallbackConfig> cfg, GenerationRequest req, GenerationCallbacks cb)
        : cfg_(std::move(cfg)), req_(std::move(req)), cb_(std::move(cb)) {}

    void run(size_t i) {
        if (!enter(i)) {
            finish(failed_result(Finish::cancelled, "cancelled"));
            return;
        }
        const std::string& name = cfg_->targets[i];
        auto p = cfg_->resolve(name);
        if (!p) {
            GenerationResult r = failed_result(Finish::error, fmt::format("'{}' is not available yet", name), 503);
            AttemptTrace a;
            a.provider = name;
            a.outcome = "error";
            a.error = r.error;
            r.trace.attempts.push_back(std::move(a));
            done(i, std::move(r));
            return;
        }
        auto self = shared_from_this();
        GenerationCallbacks ccb;
        ccb.inherit_inline(cb_);
        if (cb_.on_delta)
            ccb.on_delta = [self, i](GenerationDelta&& d) {
                if (!self->delivered_) {
                    self->delivered_ = true;
                    auto t = std::make_shared<RouteTrace>();
                    if (d.trace) *t = *d.trace;
                    t->attempts.clear();
                    d.trace = std::move(t);
                }
                return self->cb_.on_delta(std::move(d));
            };
        ccb.on_done = [self, i](GenerationResult&& r) { self->done(i, std::move(r)); };
        std::unique_ptr<Generation> g;
        try {
            g = p->start(req_, std::move(ccb));
        } catch (const Error& e) {
            // Refused before any work (queue full, prompt too long for its context, unsupported
            // feature): the next target may accept it.
            done(i, refused_result(e, name));
            return;
        }
        adopt(i, std::move(g));
    }

private:
    void done(size_t i, GenerationResult r) {
        for (auto& a : r.trace.attempts) trace_.attempts.push_back(a);
        const bool cancelled = this->cancelled();
        const bool failed = r.finish == Finish::error || r.finish == Finish::timeout;
        if (failed && !cancelled && !delivered_ && i + 1 < cfg_->targets.size()) {
            run(i + 1);
            return;
        }
        RouteTrace t = trace_;
        t.provider = failed ? std::string() : r.trace.provider;
        t.escalated = r.trace.escalated;
        t.budget_limited = r.trace.budget_limited;
        t.confidence = r.trace.confidence;
        t.signal = r.trace.signal;
        r.trace = std::move(t);
        finish(std::move(r));
    }

    void finish(GenerationResult r) {
        if (!close()) return;
        if (r.trace.attempts.empty()) r.trace.attempts = trace_.attempts;
        if (cb_.on_done) cb_.on_done(std::move(r));
    }

    std::shared_ptr<const FallbackConfig> cfg_;
    GenerationRequest req_;
    GenerationCallbacks cb_;
    RouteTrace trace_;
};

class FallbackRoute final : public Provider {
public:
    explicit FallbackRoute(std::shared_ptr<const FallbackConfig> cfg) : cfg_(std::move(cfg)) {}
    ProviderInfo info() const override { return route_info(); }
    std::unique_ptr<Generation> start(GenerationRequest req, GenerationCallbacks cb) override {
        auto run = std::make_shared<FallbackRun>(cfg_, std::move(req), std::move(cb));
        run->run(0);
        return std::make_unique<RunGeneration<FallbackRun>>(run);
    }

private:
    std::shared_ptr<const FallbackConfig> cfg_;
};

}  // namespace

std::shared_ptr<Provider> make_fallback(std::string name, TargetNames targets, Resolver resolve) {
    if (targets.empty()) fail(Errc::invalid_argument, "route '{}': a fallback needs at least one target", name);
    auto cfg = std::make_shared<FallbackConfig>();
    cfg->name = std::move(name);
    cfg->targets = std::move(targets);
    cfg->resolve = std::move(resolve);
    return std::make_shared<FallbackRoute>(std::move(cfg));
}

}  // namespace kinglet::router
