// Providers: where a generation runs. The server translates an OpenAI request into a
// GenerationRequest and hands it to the provider that the request's model name resolves to; the
// provider streams text deltas back and ends with exactly one GenerationResult. A local engine is
// the first kind (router/local_provider.h); remote OpenAI-compatible APIs and routes (virtual model
// names whose policy picks among providers) implement the same interface, so the HTTP layer never
// knows which one answered.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "chat/template.h"
#include "core/error.h"
#include "runtime/engine.h"
#include "sampling/json_schema_spec.h"

namespace kinglet::router {

// One generation (or one embedding), in terms any provider understands: messages or text, not ids.
struct GenerationRequest {
    enum class Kind { chat, text, embedding };
    Kind kind = Kind::chat;
    std::vector<chat::Message> messages;  // chat
    std::string prompt;                   // text and embedding input (when prompt_tokens is empty)
    std::vector<int32_t> prompt_tokens;   // text given as token ids (local providers only)

    std::optional<int> max_tokens;        // a prompt + max_tokens over the context is an error
    // When max_tokens is unset: at most this many (clamped to the context), 0 = until the context is full.
    int default_max_tokens = 0;
    // OpenAI's defaults: plain sampling at temperature 1, no truncation.
    float temperature = 1.0f;             // 0: greedy
    float top_p = 1.0f;
    int top_k = 0;                        // 0: off
    float min_p = 0.0f;
    float presence_penalty = 0.0f;
    float frequency_penalty = 0.0f;
    std::optional<uint64_t> seed;         // unset: a fresh random seed
    std::map<int32_t, float> logit_bias;  // token id -> bias added to the logit
    std::vector<std::string> stop;
    // response_format json_object / json_schema: the answer is one JSON object (and an instance of
    // json_schema when set). Local models: constrained decoding; remote providers get response_format
    // as the client sent it.
    bool json_object = false;
    std::shared_ptr<const CompiledSchema> json_schema;
    std::string response_format;  // JSON text
    int logprobs = -1;                    // -1: none; k >= 0: the chosen token's and the k most likely
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
    std::string caller;                   // id of the authenticated API key ("" when auth is off)

    // Routing context (set by the server; routes read it).
    std::string tenant;                   // "" when no tenants are configured
    std::string tier;                     // the tenant's tier, for tier routes
    // Classification: generation constrained to one of these labels, with the chosen label's
    // probability normalised over the set in GenerationResult::label_prob (local models; a remote
    // model is asked as usual and its answer is served as it is).
    std::vector<std::string> labels;
    // Asked before any money is spent on a remote provider; false declines the attempt
    // (outcome budget_declined). Null: always allowed.
    std::function<bool()> remote_allowed;
};

// A token as clients see it: text (valid UTF-8; bytes of a partial character become U+FFFD) and the
// exact bytes it stands for.
struct TokenText {
    std::string token;
    std::string bytes;
    float logprob = 0;
};

struct TokenLogprob : TokenText {
    std::vector<TokenText> top;  // most likely first
};

struct RouteTrace;

// Text released since the previous delta (never a partial UTF-8 character, never a stop string) and
// the log-probabilities of the tokens generated since then (when asked for).
struct GenerationDelta {
    std::string text;
    std::vector<TokenLogprob> logprobs;
    // On the first delta of a routed generation: what is known when the first byte goes out (which
    // provider answers, escalated or not, the confidence that decided it), for response headers.
    std::shared_ptr<const RouteTrace> trace;
};

enum class Finish { stop, length, cancelled, timeout, error };
const char* finish_name(Finish f);

// One provider tried while serving a request (the ledger's Attempt, without storage concerns).
struct AttemptTrace {
    std::string provider;              // the configured name
    // ok | low_confidence | length | error | timeout | budget_declined | cancelled
    std::string outcome;
    bool remote = false;
    int prompt_tokens = 0;
    int completion_tokens = 0;
    double cost_usd = 0;
    double latency_ms = 0;
    std::optional<double> confidence;
    std::string error;
};

// How a request was served: filled by metered providers (one attempt each) and merged by routes.
struct RouteTrace {
    std::vector<AttemptTrace> attempts;
    std::string provider;              // whose answer was served ("" when none)
    bool escalated = false;            // a cascade went past its first step
    bool budget_limited = false;       // an escalation was declined by the tenant's budget
    std::optional<double> confidence;  // the served answer's confidence, when computed
    std::string signal;                // which signal computed it
    double cost_usd() const {
        double c = 0;
        for (const auto& a : attempts) c += a.cost_usd;
        return c;
    }
    double remote_cost_usd() const {
        double c = 0;
        for (const auto& a : attempts)
            if (a.remote) c += a.cost_usd;
        return c;
    }
};

struct GenerationResult {
    Finish finish = Finish::stop;
    std::string text;                      // the whole generated text
    std::vector<TokenLogprob> logprobs;    // every token's (when asked for)
    int prompt_tokens = 0;
    int completion_tokens = 0;             // generated tokens, an end-of-generation token included
    int cached_prompt_tokens = 0;          // prompt tokens whose KV was reused
    std::vector<float> embedding;          // embedding requests
    double ttft_ms = 0;                    // from start() to the first generated token
    double total_ms = 0;
    Errc error_code = Errc::internal;      // when finish == error
    std::string error;                     // when finish == error or timeout
    int http_status = 0;                   // when finish == error: the status to answer (0 = from error_code)
    std::optional<double> label_prob;      // labels requests: the chosen label's probability over the set
    RouteTrace trace;                      // metered providers and routes
};

struct GenerationCallbacks {
    // Called as text is released (may be empty for non-streaming use). Runs on the provider's
    // thread: must be quick. Returning false cancels the generation (e.g. the client went away).
    std::function<bool(GenerationDelta&&)> on_delta;
    // Called exactly once when start() returned, on the provider's thread.
    std::function<void(GenerationResult&&)> on_done;

    // Set by a caller that blocks until on_done anyway (one non-streaming choice on its HTTP thread)
    // to its own thread. A provider whose work is one blocking call (a remote) may then make that call
    // inside start() when start() runs on this thread — on_done runs before start() returns — which
    // saves handing the call to a worker thread and the answer back (two thread switches and wake-ups
    // per request). Routes pass it on to the targets they start: a target started on another thread
    // (a cascade's next step, after a local step finished on the engine's thread) runs as usual.
    std::thread::id inline_thread;
    // Polled about every 100 ms while a generation runs inline; false cancels it (the client went
    // away), as Generation::cancel() would.
    std::function<bool()> keep_going;

    // Whether a generation started now may run inline (see inline_thread).
    bool may_run_inline() const { return inline_thread == std::this_thread::get_id(); }
    // Passes the inline permission on to callbacks a route builds for one of its targets.
    void inherit_inline(const GenerationCallbacks& from) {
        inline_thread = from.inline_thread;
        keep_going = from.keep_going;
    }
};

// A running generation. Destroying the handle does not cancel it.
class Generation {
public:
    virtual ~Generation() = default;
    virtual void cancel() = 0;
};

struct ProviderInfo {
    std::string kind;          // "local", "remote", "route"
    std::string owned_by = "kinglet";
    int64_t created = 0;       // Unix time the provider became available
    int context_length = 0;    // 0 when unknown
    int parallel = 0;          // sequences decoded together (local)
    int64_t kv_cache_bytes = 0;  // memory of the KV cache pool, taken at load (local)
    bool embeddings = false;
    std::string chat_template; // which template renders chat prompts (local: "model", or a built-in name)
};

class Provider {
public:
    virtual ~Provider() = default;
    virtual ProviderInfo info() const = 0;

    // Starts a generation. Throws kinglet::Error, before any work is done, for a request this provider
    // refuses: invalid_argument (bad input; a prompt longer than the context, with both lengths),
    // unsupported (a feature it lacks), overloaded (its queue is full).
    virtual std::unique_ptr<Generation> start(GenerationRequest req, GenerationCallbacks cb) = 0;

    // Providers that own a tokenizer (local models) expose it for /tokenize and /detokenize.
    virtual const Tokenizer* tokenizer() const { return nullptr; }
    // The prompt ids a chat or text request would be given to the model as (local models only).
    virtual std::vector<int32_t> prompt_tokens(const GenerationRequest&) const {
        fail(Errc::unsupported, "this model does not expose its tokenizer");
    }
    // Scheduler statistics, for /metrics (local models only).
    virtual std::optional<EngineStats> stats() const { return std::nullopt; }
    // Finishes what is running by `deadline`, cancels the rest, then refuses new work.
    virtual void shutdown(std::chrono::steady_clock::time_point deadline) {}
};

}  // namespace kinglet::router
