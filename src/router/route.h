// Routes: virtual model names whose policy picks among providers. Each route is itself a Provider, so
// the server answers a route exactly as it answers a model, and routes compose (a cascade step may be
// a fallback list or another route). Targets are names resolved at request time through a Resolver,
// so routes can be built before the models they use have loaded.
//
// Policies:
//   cascade   steps small -> large; after a step answers, its confidence signal is computed and the
//             request escalates when it is under the step's threshold, when the step failed or timed
//             out, or when the answer hit the length limit. Every step but the last is buffered, so
//             the client sees one answer; the last step streams through. When escalation fails (error,
//             or the tenant's budget declines the remote call) the best earlier answer is served,
//             marked (trace.budget_limited for the budget).
//   fallback  an ordered list tried on errors and time-outs, as long as nothing has been streamed.
//   tier      by the caller's tier (GenerationRequest::tier; "default" when absent).
//   domain    by the request's content: keyword and regex rules in order, then semantic domains
//             (nearest centroid of example embeddings, cosine >= min_similarity), else the default.
// Every route fills GenerationResult::trace with all attempts, and puts on its first delta what is
// known when the first byte goes out.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "router/provider.h"

namespace kinglet::router {

// A configured name -> its provider (a metered model or remote endpoint, or a route); nullptr when
// the name is unknown or not loaded yet.
using Resolver = std::function<std::shared_ptr<Provider>(const std::string&)>;

// One name, or an ordered list of names used as an inline fallback.
using TargetNames = std::vector<std::string>;

enum class Signal { none, mean_logprob, min_logprob, label_prob };
Signal signal_from_name(const std::string& name);  // "" -> none; throws Error for an unknown name
const char* signal_name(Signal s);

// The confidence of a finished answer under `s`: label_prob from result.label_prob; the mean or
// minimum token log-probability over result.logprobs (0 for an empty answer: log 1). nullopt when the
// signal cannot be computed from what the provider returned (e.g. a remote that sent no logprobs).
std::optional<double> confidence(Signal s, const GenerationResult& r);

struct CascadeStep {
    TargetNames target;
    Signal signal = Signal::none;
    double min_confidence = 0;
};

std::shared_ptr<Provider> make_cascade(std::string name, std::vector<CascadeStep> steps, std::vector<std::string> labels,
                                       Resolver resolve);
std::shared_ptr<Provider> make_fallback(std::string name, TargetNames targets, Resolver resolve);
std::shared_ptr<Provider> make_tier(std::string name, std::vector<std::pair<std::string, TargetNames>> tiers,
                                    std::vector<std::string> labels, Resolver resolve);

struct DomainRule {
    std::string name;
    TargetNames target;
    std::vector<std::string> keywords;  // whole words, case-insensitive
    std::vector<std::string> patterns;  // PCRE2, case-insensitive
    std::vector<std::string> examples;  // semantic examples
};
// Throws Error(invalid_argument) for a pattern that does not compile (naming domain and pattern).
std::shared_ptr<Provider> make_domain(std::string name, std::vector<DomainRule> domains, TargetNames default_target,
                                      std::string embedding_model, double min_similarity,
                                      std::vector<std::string> labels, Resolver resolve);

// The provider for `t`: resolve(t[0]) for one name, a fallback over the names otherwise. Throws
// Error(overloaded) when a single name is not available yet.
std::shared_ptr<Provider> resolve_target(const TargetNames& t, const Resolver& resolve, const std::string& route);

// The text a content-based policy looks at: the last user message (chat) or the prompt.
std::string request_text(const GenerationRequest& req);

// The HTTP status a request refused with `c` gets (400, 404, 429, else 502).
int http_status_of(Errc c);

// What every route reports as its ProviderInfo.
ProviderInfo route_info();

// For routes: a result that carries `trace` and failed with `message`.
GenerationResult failed_result(Finish f, std::string message, int http_status = 0);
// The result of a target that refused a request before doing any work (its start() threw): an error
// with the refusal's status, and one "error" attempt by `provider` in its trace.
GenerationResult refused_result(const Error& e, std::string provider);

}  // namespace kinglet::router
