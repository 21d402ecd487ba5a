#include "eval/target.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>

#include "core/error.h"
#include "sampling/json_constraint.h"

namespace kinglet::eval {

namespace {

bool starts_with(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }

std::string lower(std::string s) {
    for (char& c : s)
        if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
    return s;
}

double nan() { return std::nan(""); }

void token_stats(const std::vector<float>& lp, Answer& a) {
    if (lp.empty()) {
        a.mean_logprob = a.min_logprob = nan();
        return;
    }
    double sum = 0, mn = lp[0];
    for (float v : lp) {
        sum += v;
        mn = std::min(mn, double(v));
    }
    a.mean_logprob = sum / double(lp.size());
    a.min_logprob = mn;
}

class LocalTarget final : public Target {
public:
    LocalTarget(TargetSpec spec, std::shared_ptr<const Model> model, EngineOptions eo, const TaskSpec& task)
        : Target(std::move(spec)), model_(std::move(model)), task_(task) {
        engine_ = std::make_unique<Engine>(model_, model_->tokenizer(), eo);
        if (!task_.labels.empty()) cls_.emplace(*engine_, task_.labels);
        if (task_.json_object) json_vocab_ = make_json_vocab(*model_->tokenizer());
    }

    std::future<Answer> start(const CaseInput& in) override {
        std::promise<Answer> p;
        try {
            p.set_value(cls_ ? classify(in) : generate(in));
        } catch (const Error& e) {
            Answer a;
            a.finish = "error";
            a.error = e.what();
            a.label_prob = a.margin = a.mean_logprob = a.min_logprob = nan();
            p.set_value(std::move(a));
        }
        return p.get_future();
    }

private:
    Answer classify(const CaseInput& in) {
        const auto r = cls_->classify(in.prompt);
        Answer a;
        a.predicted = r.predicted;
        a.generated = r.generated;
        a.text = task_.labels[size_t(r.predicted)];
        a.probs = r.scores.prob;
        a.label_prob = r.scores.prob[size_t(r.predicted)];
        a.margin = r.scores.margin;
        a.mean_logprob = r.scores.mean_token_logprob;
        a.min_logprob = r.scores.min_token_logprob;
        a.prompt_tokens = r.prompt_tokens;
        a.completion_tokens = r.completion_tokens;
        a.latency_ms = r.latency_ms;
        return a;
    }

    Answer generate(const CaseInput& in) {
        Request q;
        q.prompt = engine_->tokenizer().encode(in.prompt, true, true);
        q.max_tokens = task_.max_tokens;
        q.stop = task_.stop;
        q.logprobs = 0;
        if (task_.json_schema) q.constraint = std::make_shared<JsonConstraint>(json_vocab_, task_.json_schema);
        else if (task_.json_object) q.constraint = std::make_shared<JsonConstraint>(json_vocab_);
        const Completion c = engine_->generate(std::move(q));
        if (c.finish == FinishReason::error) fail(Errc::internal, "generation failed: {}", c.error);
        Answer a;
        a.text = c.text;
        std::vector<float> lp;
        for (const auto& t : c.token_info) lp.push_back(t.logprob);
        token_stats(lp, a);
        if (lp.empty()) a.mean_logprob = a.min_logprob = 0;
        a.label_prob = a.margin = nan();
        a.prompt_tokens = int(c.prompt_tokens.size());
        a.completion_tokens = int(c.tokens.size());
        a.latency_ms = c.total_ms;
        a.finish = finish_reason_name(c.finish);
        return a;
    }

    std::shared_ptr<const Model> model_;
    TaskSpec task_;
    std::unique_ptr<Engine> engine_;
    std::optional<LocalClassifier> cls_;
    std::shared_ptr<const JsonVocab> json_vocab_;
};

class ProviderTarget final : public Target {
public:
    ProviderTarget(TargetSpec spec, std::shared_ptr<router::Provider> provider, const TaskSpec& task)
        : Target(std::move(spec)), provider_(std::move(provider)), task_(task) {}

    bool concurrent() const override { return true; }

    std::future<Answer> start(const CaseInput& in) override {
        router::GenerationRequest req;
        const bool classify = !task_.labels.empty();
        if (task_.chat) {
            req.kind = router::GenerationRequest::Kind::chat;
            if (in.messages.is_array() && in.prompt.empty()) {
                for (const auto& m : in.messages) {
                    chat::Message msg;
                    msg.role = m.value("role", "user");
                    msg.content = m.value("content", "");
                    req.messages.push_back(std::move(msg));
                }
            } else {
                chat::Message msg;
                msg.role = "user";
                msg.content = in.prompt;
                req.messages.push_back(std::move(msg));
            }
        } else {
            req.kind = router::GenerationRequest::Kind::text;
            req.prompt = in.prompt;
        }
        req.temperature = 0;
        if (classify) {
            size_t longest = 0;
            for (const auto& l : task_.labels) longest = std::max(longest, l.size());
            // A token spells at least one byte, and an answer may start with a space or a quote.
            req.max_tokens = int(std::min<size_t>(longest + 2, 64));
            req.stop = {"\n"};
            req.logprobs = 2;
            // A local model constrains its answer to the labels (a remote one is asked as usual).
            req.labels = task_.labels;
        } else {
            req.max_tokens = task_.max_tokens;
            req.stop = task_.stop;
            req.logprobs = 0;
            req.json_object = task_.json_object;
            req.json_schema = task_.json_schema;
            req.response_format = task_.response_format;
        }
        auto promise = std::make_shared<std::promise<Answer>>();
        auto fut = promise->get_future();
        const auto t0 = std::chrono::steady_clock::now();
        router::GenerationCallbacks cb;
        cb.on_delta = [](router::GenerationDelta&&) { return true; };
        cb.on_done = [promise, t0, this, classify](router::GenerationResult&& r) {
            promise->set_value(answer_of(std::move(r), classify, t0));
        };
        try {
            provider_->start(std::move(req), std::move(cb));  // the handle does not own the generation
        } catch (const Error& e) {
            Answer a;
            a.finish = "error";
            a.error = e.what();
            a.label_prob = a.margin = a.mean_logprob = a.min_logprob = nan();
            std::promise<Answer> p;
            p.set_value(std::move(a));
            return p.get_future();
        }
        return fut;
    }

private:
    Answer answer_of(router::GenerationResult&& r, bool classify, std::chrono::steady_clock::time_point t0) const {
        Answer a;
        a.text = r.text;
        a.finish = router::finish_name(r.finish);
        if (r.finish == router::Finish::error || r.finish == router::Finish::timeout || r.finish == router::Finish::cancelled)
            a.error = r.error.empty() ? std::string(a.finish) : r.error;
        a.prompt_tokens = r.prompt_tokens;
        a.completion_tokens = r.completion_tokens;
        a.latency_ms = r.total_ms > 0 ? r.total_ms
                                      : std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        std::vector<float> lp;
        for (const auto& t : r.logprobs) lp.push_back(t.logprob);
        token_stats(lp, a);
        a.label_prob = a.margin = nan();
        if (!r.trace.attempts.empty()) {
            a.cost_usd = r.trace.cost_usd();
            a.provider = r.trace.provider;
            if (spec_.kind == TargetSpec::Kind::route) {
                a.escalated = r.trace.escalated;
                a.confidence = r.trace.confidence;
                a.signal = r.trace.signal;
                a.attempts = nlohmann::ordered_json::array();
                for (const auto& t : r.trace.attempts) {
                    nlohmann::ordered_json j = {{"provider", t.provider},
                                                {"outcome", t.outcome},
                                                {"remote", t.remote},
                                                {"prompt_tokens", t.prompt_tokens},
                                                {"completion_tokens", t.completion_tokens},
                                                {"cost_usd", t.cost_usd}};
                    if (t.confidence) j["confidence"] = *t.confidence;
                    if (!t.error.empty()) j["error"] = t.error;
                    a.attempts.push_back(std::move(j));
                }
            }
        }
        if (classify) {
            a.predicted = match_label(r.text, task_.labels);
            if (r.label_prob) {
                // A local model answered under the label constraint: its probability over the label set.
                a.label_prob = *r.label_prob;
            } else if (!lp.empty()) {
                double sum = 0;
                for (float v : lp) sum += v;
                a.label_prob = std::exp(sum);
            }
            if (!r.logprobs.empty()) {
                const auto& top = r.logprobs[0].top;
                if (top.size() >= 2) a.margin = std::exp(double(top[0].logprob)) - std::exp(double(top[1].logprob));
                else if (top.size() == 1) a.margin = std::exp(double(top[0].logprob));
            }
        }
        return a;
    }

    std::shared_ptr<router::Provider> provider_;
    TaskSpec task_;
};

}  // namespace

const char* kind_name(TargetSpec::Kind k) {
    switch (k) {
        case TargetSpec::Kind::local: return "local";
        case TargetSpec::Kind::server: return "server";
        case TargetSpec::Kind::remote: return "remote";
        case TargetSpec::Kind::route: return "route";
        case TargetSpec::Kind::model: return "model";
    }
    return "?";
}

TargetSpec parse_target(const std::string& text) {
    TargetSpec s;
    s.text = text;
    auto rest = [&](size_t n) { return text.substr(n); };
    if (starts_with(text, "local:")) {
        s.kind = TargetSpec::Kind::local;
        s.path = rest(6);
    } else if (starts_with(text, "server:")) {
        s.kind = TargetSpec::Kind::server;
        const std::string r = rest(7);
        const auto hash = r.rfind('#');
        s.path = hash == std::string::npos ? r : r.substr(0, hash);
        s.model = hash == std::string::npos ? "" : r.substr(hash + 1);
        if (!starts_with(s.path, "http://") && !starts_with(s.path, "https://"))
            fail(Errc::invalid_argument, "target '{}': a server target is server:http://HOST:PORT#MODEL", text);
    } else if (starts_with(text, "remote:")) {
        s.kind = TargetSpec::Kind::remote;
        s.path = rest(7);
    } else if (starts_with(text, "route:")) {
        s.kind = TargetSpec::Kind::route;
        s.path = rest(6);
    } else if (starts_with(text, "model:")) {
        s.kind = TargetSpec::Kind::model;
        s.path = rest(6);
    } else if (text.size() > 5 && lower(text.substr(text.size() - 5)) == ".gguf") {
        s.kind = TargetSpec::Kind::local;
        s.path = text;
    } else {
        fail(Errc::invalid_argument,
             "target '{}': expected local:PATH.gguf, server:URL#MODEL, remote:NAME, route:NAME or model:NAME", text);
    }
    if (s.path.empty()) fail(Errc::invalid_argument, "target '{}' names nothing", text);
    switch (s.kind) {
        case TargetSpec::Kind::local: s.name = std::filesystem::path(s.path).stem().string(); break;
        case TargetSpec::Kind::server: s.name = s.model.empty() ? s.path : s.model; break;
        default: s.name = s.path;
    }
    return s;
}

int match_label(const std::string& answer, const std::vector<std::string>& labels) {
    std::string a = answer;
    auto strip = [](char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '"' || c == '\'' || c == '`' || c == '*';
    };
    size_t b = 0;
    while (b < a.size() && strip(a[b])) ++b;
    a = lower(a.substr(b));
    while (!a.empty() && (strip(a.back()) || a.back() == '.' || a.back() == ',' || a.back() == '!' || a.back() == ';'))
        a.pop_back();
    int best = -1;
    size_t best_len = 0;
    for (size_t i = 0; i < labels.size(); ++i) {
        const std::string l = lower(labels[i]);
        if (a == l) return int(i);
        if (l.size() > best_len && starts_with(a, l)) {
            const unsigned char next = static_cast<unsigned char>(a[l.size()]);
            if (!std::isalnum(next) && next != '_') {
                best = int(i);
                best_len = l.size();
            }
        }
    }
    return best;
}

std::unique_ptr<Target> make_local_target(TargetSpec spec, std::shared_ptr<const Model> model, EngineOptions eo,
                                          const TaskSpec& task) {
    return std::make_unique<LocalTarget>(std::move(spec), std::move(model), eo, task);
}

std::unique_ptr<Target> make_provider_target(TargetSpec spec, std::shared_ptr<router::Provider> provider,
                                             const TaskSpec& task) {
    return std::make_unique<ProviderTarget>(std::move(spec), std::move(provider), task);
}

}  // namespace kinglet::eval
