// What the policies share: signals, target resolution, request text, failed results.
#include "router/route.h"

#include <algorithm>
#include <limits>

#include "core/error.h"

namespace kinglet::router {

Signal signal_from_name(const std::string& name) {
    if (name.empty()) return Signal::none;
    if (name == "mean_logprob") return Signal::mean_logprob;
    if (name == "min_logprob") return Signal::min_logprob;
    if (name == "label_prob") return Signal::label_prob;
    fail(Errc::invalid_argument, "unknown confidence signal '{}': mean_logprob, min_logprob or label_prob", name);
}

const char* signal_name(Signal s) {
    switch (s) {
        case Signal::none: return "";
        case Signal::mean_logprob: return "mean_logprob";
        case Signal::min_logprob: return "min_logprob";
        case Signal::label_prob: return "label_prob";
    }
    return "";
}

std::optional<double> confidence(Signal s, const GenerationResult& r) {
    switch (s) {
        case Signal::none: return std::nullopt;
        case Signal::label_prob: return r.label_prob;
        case Signal::mean_logprob:
        case Signal::min_logprob: {
            if (r.logprobs.empty()) {
                // No tokens: nothing was uncertain (log 1); tokens but no logprobs: unknown.
                if (r.completion_tokens <= 1 && r.text.empty()) return 0.0;
                return std::nullopt;
            }
            double sum = 0, mn = std::numeric_limits<double>::infinity();
            for (const auto& t : r.logprobs) {
                sum += t.logprob;
                mn = std::min(mn, double(t.logprob));
            }
            return s == Signal::mean_logprob ? sum / double(r.logprobs.size()) : mn;
        }
    }
    return std::nullopt;
}

std::shared_ptr<Provider> resolve_target(const TargetNames& t, const Resolver& resolve, const std::string& route) {
    if (t.size() == 1) {
        auto p = resolve(t[0]);
        if (!p) fail(Errc::overloaded, "route '{}': '{}' is not available yet (still loading?)", route, t[0]);
        return p;
    }
    return make_fallback(route, t, resolve);
}

std::string request_text(const GenerationRequest& req) {
    if (req.kind != GenerationRequest::Kind::chat) return req.prompt;
    for (auto it = req.messages.rbegin(); it != req.messages.rend(); ++it)
        if (it->role == "user") return it->content;
    return req.messages.empty() ? std::string() : req.messages.back().content;
}

int http_status_of(Errc c) {
    switch (c) {
        case Errc::invalid_argument:
        case Errc::unsupported: return 400;
        case Errc::not_found: return 404;
        case Errc::overloaded: return 429;
        default: return 502;
    }
}

ProviderInfo route_info() {
    ProviderInfo i;
    i.kind = "route";
    i.chat_template = "route";
    return i;
}

GenerationResult failed_result(Finish f, std::string message, int http_status) {
    GenerationResult r;
    r.finish = f;
    r.error = std::move(message);
    r.http_status = http_status;
    return r;
}

GenerationResult refused_result(const Error& e, std::string provider) {
    GenerationResult r = failed_result(Finish::error, e.what(), http_status_of(e.code()));
    r.error_code = e.code();
    AttemptTrace a;
    a.provider = std::move(provider);
    a.outcome = "error";
    a.error = e.what();
    r.trace.attempts.push_back(std::move(a));
    return r;
}

}  // namespace kinglet::router
