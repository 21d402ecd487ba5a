// Eval targets: what answers the cases. A local GGUF file is run by its own Engine here (so a
// classification task gets the exact label-set scores of LocalClassifier); anything else — a model
// served by a running kinglet, a remote OpenAI-compatible API, a route of the config — is a
// router::Provider, measured through the same interface the server uses, so the route that will serve
// production is the one measured.
//
// A target answers one case at a time through start(); local targets answer before start() returns,
// provider targets answer on the provider's thread, so the runner can keep several in flight (-j).
#pragma once
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/local_classifier.h"
#include "model/model.h"
#include "router/provider.h"
#include "runtime/engine.h"
#include "sampling/json_schema_spec.h"

namespace kinglet::eval {

// "local:PATH" (or a bare path ending in .gguf), "server:URL#MODEL" (a running kinglet or any
// OpenAI-compatible server; MODEL optional when it serves one), "remote:NAME" (a provider of the config
// file), "route:NAME" (a route of the config file), "model:NAME" (a local model of the config file, run
// as kinglet serve runs it). Throws Error(invalid_argument) otherwise.
//
// A classification on local:PATH scores every label and predicts the most probable one (all the
// label-set signals); model:NAME answers as the server does — the label that constrained greedy
// generation produces, with its probability over the set — which is what a cascade step serves.
struct TargetSpec {
    enum class Kind { local, server, remote, route, model } kind = Kind::local;
    std::string text;   // as written
    std::string path;   // local: the GGUF file; server: the base URL; remote/route/model: the name
    std::string model;  // server: the model name ("" = the server's only model)
    std::string name;   // short display name (file stem, model or NAME), unique within a run
    std::vector<std::string> fallback;  // route: an inline fallback list (a cascade step's), tried in order
};
TargetSpec parse_target(const std::string& text);
const char* kind_name(TargetSpec::Kind k);

// What the runner asks: the rendered prompt, and the case's messages when it has them.
struct CaseInput {
    std::string prompt;
    nlohmann::ordered_json messages;  // null, or the case's messages array
};

// One target's answer to one case, before grading.
struct Answer {
    std::string text;        // generated text (classification: the predicted label's text)
    int predicted = -1;      // classification: label index, -1 when the answer is no declared label
    int generated = -1;      // local classification: the label constrained greedy generation produced
    std::vector<double> probs;  // local classification: probability of every label over the set
    // Confidence signals (NaN when the target cannot give them).
    double label_prob = 0, margin = 0, mean_logprob = 0, min_logprob = 0;
    int prompt_tokens = 0, completion_tokens = 0;
    double latency_ms = 0;
    std::string finish = "stop";
    std::string error;  // non-empty: the request failed (the case counts as wrong and is recorded so)
    // Provider targets whose provider is priced (a config's remote provider or route): what the router
    // recorded. Routes also say who answered and whether the request escalated.
    std::optional<double> cost_usd;
    std::string provider;             // the configured name whose answer was served
    std::optional<bool> escalated;    // routes only
    std::optional<double> confidence; // routes: the confidence that decided, when computed
    std::string signal;               // ... and its signal
    nlohmann::ordered_json attempts;  // routes: every provider tried, in order (null otherwise)
};

struct TaskSpec {
    std::vector<std::string> labels;  // non-empty: classification
    int max_tokens = 64;              // free text
    std::vector<std::string> stop;
    // Provider targets: send the prompt as one user chat message (chat) or as a text completion.
    bool chat = false;
    // --response-format json_object / json_schema: answers generated in JSON mode (local targets
    // constrained, providers sent response_format), as kinglet serve would answer them.
    bool json_object = false;
    std::shared_ptr<const CompiledSchema> json_schema;
    std::string response_format;  // JSON text sent to providers
};

class Target {
public:
    virtual ~Target() = default;
    const TargetSpec& spec() const { return spec_; }
    // Local targets answer in the calling thread; provider targets return at once.
    virtual std::future<Answer> start(const CaseInput& in) = 0;
    virtual bool concurrent() const { return false; }  // answers several cases at once (-j)

protected:
    explicit Target(TargetSpec s) : spec_(std::move(s)) {}
    TargetSpec spec_;
};

// A GGUF model in this process. Classification scores every label (LocalClassifier); free text is
// generated greedily with token log-probabilities.
std::unique_ptr<Target> make_local_target(TargetSpec spec, std::shared_ptr<const Model> model, EngineOptions eo,
                                          const TaskSpec& task);

// Any provider. Classification: greedy generation of at most the longest label's length (in words,
// bounded), the answer matched to a label (match_label); label_prob is the probability of the generated
// tokens, margin the difference of the two most likely first tokens (top log-probabilities).
std::unique_ptr<Target> make_provider_target(TargetSpec spec, std::shared_ptr<router::Provider> provider,
                                             const TaskSpec& task);

// The declared label an answer names: after trimming whitespace, quotes and trailing punctuation, the
// label it equals, else the longest label it starts with followed by a non-alphanumeric character;
// case-insensitive. -1 when none.
int match_label(const std::string& answer, const std::vector<std::string>& labels);

}  // namespace kinglet::eval
