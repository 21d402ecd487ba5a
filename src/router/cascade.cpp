// The cascade policy (router/route.h): a state machine driven by the steps' completion callbacks.
#include "core/error.h"
#include "router/route.h"
#include "router/step_run.h"

namespace kinglet::router {

namespace {

struct CascadeConfig {
    std::string name;
    std::vector<CascadeStep> steps;
    std::vector<std::string> labels;
    Resolver resolve;
};

class CascadeRun : public StepRun, public std::enable_shared_from_this<CascadeRun> {
public:
    CascadeRun(std::shared_ptr<const CascadeConfig> cfg, GenerationRequest req, GenerationCallbacks cb)
        : cfg_(std::move(cfg)), req_(std::move(req)), cb_(std::move(cb)) {}

    void run(size_t i) {
        const CascadeStep& step = cfg_->steps[i];
        const bool last = i + 1 == cfg_->steps.size();
        if (!enter(i)) {
            finish(failed_result(Finish::cancelled, "cancelled"));
            return;
        }
        GenerationRequest q = req_;
        q.labels = cfg_->labels;
        if ((step.signal == Signal::mean_logprob || step.signal == Signal::min_logprob) && q.logprobs < 0) q.logprobs = 0;
        GenerationCallbacks ccb;
        ccb.inherit_inline(cb_);
        auto self = shared_from_this();
        if (last && cb_.on_delta) {
            ccb.on_delta = [self, i](GenerationDelta&& d) {
                if (!self->delivered_) {
                    self->delivered_ = true;
                    auto t = std::make_shared<RouteTrace>();
                    if (d.trace) *t = *d.trace;
                    t->attempts.clear();
                    t->escalated = t->escalated || i > 0;
                    t->budget_limited = self->trace_.budget_limited;
                    t->confidence.reset();  // the last step's confidence is known only at its end
                    d.trace = std::move(t);
                }
                if (self->req_.logprobs < 0) d.logprobs.clear();
                return self->cb_.on_delta(std::move(d));
            };
        }
        ccb.on_done = [self, i](GenerationResult&& r) { self->step_done(i, std::move(r)); };
        std::unique_ptr<Generation> g;
        try {
            auto p = resolve_target(step.target, cfg_->resolve, cfg_->name);
            g = p->start(std::move(q), std::move(ccb));
        } catch (const Error& e) {
            step_done(i, refused_result(e, step.target.size() == 1 ? step.target[0] : cfg_->name));
            return;
        }
        adopt(i, std::move(g));
    }

private:
    void step_done(size_t i, GenerationResult r) {
        const CascadeStep& step = cfg_->steps[i];
        const bool last = i + 1 == cfg_->steps.size();
        const size_t first_new = trace_.attempts.size();
        for (auto& a : r.trace.attempts) trace_.attempts.push_back(a);
        if (r.trace.budget_limited) trace_.budget_limited = true;
        bool budget_declined = false;
        for (const auto& a : r.trace.attempts) budget_declined |= a.outcome == "budget_declined";
        const bool cancelled = this->cancelled();
        if (cancelled || r.finish == Finish::cancelled) {
            finish(std::move(r));
            return;
        }
        if (r.finish == Finish::error || r.finish == Finish::timeout) {
            if (delivered_) {
                finish(std::move(r));
            } else if (budget_declined && best_) {
                trace_.budget_limited = true;
                serve(std::move(*best_), best_step_, best_conf_, false);
            } else if (!last) {
                run(i + 1);
            } else if (best_) {
                serve(std::move(*best_), best_step_, best_conf_, false);
            } else {
                finish(std::move(r));
            }
            return;
        }
        const std::optional<double> conf = confidence(step.signal, r);
        // The attempt that answered is the last new one that did not fail.
        AttemptTrace* answered = nullptr;
        for (size_t k = trace_.attempts.size(); k > first_new; --k)
            if (trace_.attempts[k - 1].outcome == "ok" || trace_.attempts[k - 1].outcome == "length") {
                answered = &trace_.attempts[k - 1];
                break;
            }
        if (answered && conf) answered->confidence = conf;
        const bool escalate = !last && (r.finish == Finish::length ||
                                        (step.signal != Signal::none && (!conf || *conf < step.min_confidence)));
        if (!escalate) {
            serve(std::move(r), i, conf, true);
            return;
        }
        if (answered) answered->outcome = r.finish == Finish::length ? "length" : "low_confidence";
        best_ = std::move(r);
        best_step_ = i;
        best_conf_ = conf;
        run(i + 1);
    }

    // Serves the answer of step `i` (possibly an earlier step's, when escalation failed).
    void serve(GenerationResult r, size_t i, std::optional<double> conf, bool current) {
        RouteTrace t = trace_;
        t.provider = r.trace.provider;
        // Served from an earlier step: an escalation was attempted even though its answer is not served.
        t.escalated = trace_.escalated || r.trace.escalated || i > 0 || !current;
        const Signal s = cfg_->steps[i].signal;
        t.confidence = s != Signal::none ? conf : r.trace.confidence;
        t.signal = s != Signal::none ? signal_name(s) : r.trace.signal;
        r.trace = std::move(t);
        if (req_.logprobs < 0) r.logprobs.clear();
        if (cb_.on_delta && !delivered_) {
            delivered_ = true;
            GenerationDelta d;
            d.text = r.text;
            d.logprobs = r.logprobs;
            auto snap = std::make_shared<RouteTrace>(r.trace);
            snap->attempts.clear();
            d.trace = std::move(snap);
            if (!cb_.on_delta(std::move(d))) {
                r.finish = Finish::cancelled;
                r.error = "cancelled";
            }
        }
        finish(std::move(r), false);
    }

    void finish(GenerationResult r, bool attach_trace = true) {
        if (!close()) return;
        if (attach_trace) {
            RouteTrace t = trace_;
            t.provider.clear();
            r.trace = std::move(t);
        }
        if (cb_.on_done) cb_.on_done(std::move(r));
    }

    std::shared_ptr<const CascadeConfig> cfg_;
    GenerationRequest req_;
    GenerationCallbacks cb_;
    RouteTrace trace_;
    std::optional<GenerationResult> best_;
    size_t best_step_ = 0;
    std::optional<double> best_conf_;
};

class CascadeRoute final : public Provider {
public:
    explicit CascadeRoute(std::shared_ptr<const CascadeConfig> cfg) : cfg_(std::move(cfg)) {}
    ProviderInfo info() const override { return route_info(); }
    std::unique_ptr<Generation> start(GenerationRequest req, GenerationCallbacks cb) override {
        if (req.kind == GenerationRequest::Kind::embedding)
            fail(Errc::unsupported, "'{}' is a cascade route: it answers chat and completions, not embeddings", cfg_->name);
        auto run = std::make_shared<CascadeRun>(cfg_, std::move(req), std::move(cb));
        run->run(0);
        return std::make_unique<RunGeneration<CascadeRun>>(run);
    }

private:
    std::shared_ptr<const CascadeConfig> cfg_;
};

}  // namespace

std::shared_ptr<Provider> make_cascade(std::string name, std::vector<CascadeStep> steps, std::vector<std::string> labels,
                                       Resolver resolve) {
    if (steps.empty()) fail(Errc::invalid_argument, "route '{}': a cascade needs at least one step", name);
    auto cfg = std::make_shared<CascadeConfig>();
    cfg->name = std::move(name);
    cfg->steps = std::move(steps);
    cfg->labels = std::move(labels);
    cfg->resolve = std::move(resolve);
    return std::make_shared<CascadeRoute>(std::move(cfg));
}

}  // namespace kinglet::router
