#include "router/metered_provider.h"

#include <algorithm>

namespace kinglet::router {

const char* outcome_of(Finish f) {
    switch (f) {
        case Finish::stop: return "ok";
        case Finish::length: return "length";
        case Finish::error: return "error";
        case Finish::timeout: return "timeout";
        case Finish::cancelled: return "cancelled";
    }
    return "error";
}

double hourly_cost_usd(double per_hour_usd, double tokens, double tokens_per_s) {
    if (tokens_per_s <= 0 || tokens <= 0) return 0;
    return per_hour_usd / 3600.0 * (tokens / tokens_per_s);
}

void ThroughputMeter::begin(Clock::time_point now) {
    std::lock_guard<std::mutex> lock(mu_);
    if (running_++ == 0) busy_since_ = now;
}

void ThroughputMeter::end(int tokens, Clock::time_point now) {
    std::lock_guard<std::mutex> lock(mu_);
    tokens_ += std::max(0, tokens);
    if (--running_ == 0) busy_s_ += std::chrono::duration<double>(now - busy_since_).count();
}

double ThroughputMeter::tokens_per_second(Clock::time_point now) const {
    std::lock_guard<std::mutex> lock(mu_);
    double busy = busy_s_;
    if (running_ > 0) busy += std::chrono::duration<double>(now - busy_since_).count();
    return busy > 0 && tokens_ > 0 ? tokens_ / busy : 0;
}

MeteredProvider::MeteredProvider(std::string name, std::shared_ptr<Provider> inner, Pricing price, bool remote)
    : name_(std::move(name)), inner_(std::move(inner)), price_(price), remote_(remote) {}

double MeteredProvider::cost(int prompt, int completion, double seconds, int cached_prompt) const {
    if (price_.per_hour_usd > 0) {
        const double worked = std::max(0, prompt - cached_prompt) + std::max(0, completion);
        double tps = meter_.tokens_per_second();
        if (tps <= 0 && seconds > 0) tps = worked / seconds;
        return hourly_cost_usd(price_.per_hour_usd, worked, tps);
    }
    return (prompt * price_.input_per_mtok + completion * price_.output_per_mtok) / 1e6;
}

namespace {

class NoGeneration final : public Generation {
public:
    void cancel() override {}
};

}  // namespace

std::unique_ptr<Generation> MeteredProvider::start(GenerationRequest req, GenerationCallbacks cb) {
    if (remote_ && req.remote_allowed && !req.remote_allowed()) {
        GenerationResult r;
        r.finish = Finish::error;
        r.error_code = Errc::overloaded;
        r.http_status = 429;
        r.error = "the monthly remote budget of this API key's tenant is spent";
        AttemptTrace a;
        a.provider = name_;
        a.outcome = "budget_declined";
        a.remote = true;
        r.trace.attempts.push_back(std::move(a));
        if (cb.on_done) cb.on_done(std::move(r));
        return std::make_unique<NoGeneration>();
    }
    const auto t0 = std::chrono::steady_clock::now();
    auto self = shared_from_this();
    GenerationCallbacks inner;
    inner.inherit_inline(cb);
    if (cb.on_delta) {
        auto first = std::make_shared<bool>(true);
        inner.on_delta = [self, first, on_delta = std::move(cb.on_delta)](GenerationDelta&& d) {
            if (*first) {
                *first = false;
                if (!d.trace) {
                    auto t = std::make_shared<RouteTrace>();
                    t->provider = self->name_;
                    d.trace = std::move(t);
                }
            }
            return on_delta(std::move(d));
        };
    }
    const bool hourly = price_.per_hour_usd > 0;
    inner.on_done = [self, t0, hourly, on_done = std::move(cb.on_done)](GenerationResult&& r) {
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        const int worked = r.prompt_tokens - r.cached_prompt_tokens + r.completion_tokens;
        if (hourly) self->meter_.end(worked);
        AttemptTrace a;
        a.provider = self->name_;
        a.outcome = outcome_of(r.finish);
        a.remote = self->remote_;
        a.prompt_tokens = r.prompt_tokens;
        a.completion_tokens = r.completion_tokens;
        a.cost_usd = self->cost(r.prompt_tokens, r.completion_tokens, ms / 1000, r.cached_prompt_tokens);
        a.latency_ms = ms;
        a.confidence = r.label_prob;
        if (r.finish == Finish::error || r.finish == Finish::timeout) a.error = r.error;
        r.trace = RouteTrace{};
        r.trace.attempts.push_back(std::move(a));
        if (r.finish == Finish::stop || r.finish == Finish::length) r.trace.provider = self->name_;
        if (on_done) on_done(std::move(r));
    };
    if (hourly) meter_.begin();
    try {
        return inner_->start(std::move(req), std::move(inner));
    } catch (...) {
        if (hourly) meter_.end(0);
        throw;
    }
}

}  // namespace kinglet::router
