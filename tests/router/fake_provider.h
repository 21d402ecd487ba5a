// A scripted provider for policy tests: each call answers with the next scripted result (text,
// finish, label_prob or token logprobs), streaming its text as one delta; records the requests.
#pragma once
#include <deque>
#include <mutex>

#include "router/metered_provider.h"
#include "router/provider.h"

namespace kinglet::router::test {

struct Script {
    std::string text = "answer";
    Finish finish = Finish::stop;
    std::optional<double> label_prob;
    std::vector<float> logprobs;  // per token
    int prompt_tokens = 10, completion_tokens = 5;
    bool throw_on_start = false;
    Errc throw_code = Errc::overloaded;
};

class FakeProvider final : public Provider {
public:
    explicit FakeProvider(std::vector<Script> s = {Script{}}) : scripts_(s.begin(), s.end()) {}
    ProviderInfo info() const override { return {}; }
    std::unique_ptr<Generation> start(GenerationRequest req, GenerationCallbacks cb) override {
        Script s;
        {
            std::lock_guard<std::mutex> lock(mu_);
            requests.push_back(req);
            s = scripts_.front();
            if (scripts_.size() > 1) scripts_.pop_front();
        }
        if (s.throw_on_start) throw Error(s.throw_code, "refused by the fake");
        GenerationResult r;
        r.finish = s.finish;
        r.prompt_tokens = s.prompt_tokens;
        r.completion_tokens = s.completion_tokens;
        r.label_prob = s.label_prob;
        if (s.finish == Finish::error || s.finish == Finish::timeout) r.error = "scripted failure";
        else r.text = s.text;
        if (req.logprobs >= 0)
            for (float lp : s.logprobs) {
                TokenLogprob t;
                t.token = "t";
                t.logprob = lp;
                r.logprobs.push_back(t);
            }
        if (cb.on_delta && !r.text.empty()) {
            GenerationDelta d;
            d.text = r.text;
            d.logprobs = r.logprobs;
            cb.on_delta(std::move(d));
        }
        if (cb.on_done) cb.on_done(std::move(r));
        return std::make_unique<Nothing>();
    }
    std::vector<GenerationRequest> requests;

private:
    struct Nothing final : Generation {
        void cancel() override {}
    };
    std::mutex mu_;
    std::deque<Script> scripts_;
};

}  // namespace kinglet::router::test
