// A configured provider as routes and the ledger see it: a name, a price and whether money leaves the
// building (remote). It wraps a local model or a remote endpoint, prices every generation, records
// it as one attempt in GenerationResult::trace, and enforces the caller's remote budget before a
// remote call is made (GenerationRequest::remote_allowed).
//
// Prices: per 1M input and output tokens; or, for a machine paid by the hour, $/hour divided by the
// throughput measured while it was busy (prompt tokens computed + tokens generated per second, over
// the time at least one request was running): a machine that is busy half the time is not charged
// for the idle half, which is the marginal cost a routing decision changes.
#pragma once
#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "router/provider.h"

namespace kinglet::router {

struct Pricing {
    double input_per_mtok = 0;   // USD per 1M prompt tokens
    double output_per_mtok = 0;  // USD per 1M generated tokens
    double per_hour_usd = 0;     // when > 0: USD per hour of the machine, divided by measured throughput
};

// USD for `tokens` tokens on a machine that costs `per_hour_usd` an hour and processes `tokens_per_s`
// tokens a second: the machine's price of the seconds those tokens take (0 when nothing is measured).
double hourly_cost_usd(double per_hour_usd, double tokens, double tokens_per_s);

// Measures tokens per second over the time at least one request was running (overlapping requests
// count their busy time once). The time points are parameters so tests can drive the clock.
class ThroughputMeter {
public:
    using Clock = std::chrono::steady_clock;
    void begin(Clock::time_point now = Clock::now());
    // A request ended having processed (computed) `tokens` tokens.
    void end(int tokens, Clock::time_point now = Clock::now());
    // Tokens per second so far; 0 before anything was measured.
    double tokens_per_second(Clock::time_point now = Clock::now()) const;

private:
    mutable std::mutex mu_;
    int running_ = 0;
    std::chrono::steady_clock::time_point busy_since_;
    double busy_s_ = 0;
    double tokens_ = 0;
};

class MeteredProvider final : public Provider, public std::enable_shared_from_this<MeteredProvider> {
public:
    MeteredProvider(std::string name, std::shared_ptr<Provider> inner, Pricing price, bool remote);

    ProviderInfo info() const override { return inner_->info(); }
    std::unique_ptr<Generation> start(GenerationRequest req, GenerationCallbacks cb) override;
    const Tokenizer* tokenizer() const override { return inner_->tokenizer(); }
    std::vector<int32_t> prompt_tokens(const GenerationRequest& r) const override { return inner_->prompt_tokens(r); }
    std::optional<EngineStats> stats() const override { return inner_->stats(); }
    void shutdown(std::chrono::steady_clock::time_point deadline) override { inner_->shutdown(deadline); }

    const std::string& name() const { return name_; }
    bool remote() const { return remote_; }
    const Pricing& price() const { return price_; }
    // What `prompt` + `completion` tokens cost. Per-token prices count every prompt token; an hourly
    // price counts the tokens the machine computed (prompt tokens whose KV was reused, `cached_prompt`,
    // cost it nothing and are not in the measured throughput either) at the throughput measured so far,
    // or at `seconds` for these tokens when nothing was measured yet.
    double cost(int prompt, int completion, double seconds, int cached_prompt = 0) const;
    const std::shared_ptr<Provider>& inner() const { return inner_; }

private:
    std::string name_;
    std::shared_ptr<Provider> inner_;
    Pricing price_;
    bool remote_;
    ThroughputMeter meter_;
};

// The outcome name of a finished generation: ok | length | error | timeout | cancelled.
const char* outcome_of(Finish f);

}  // namespace kinglet::router
