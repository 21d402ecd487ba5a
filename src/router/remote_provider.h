// A remote OpenAI-compatible endpoint (/chat/completions and /completions under `base_url`) over
// libcurl. Every call streams (stream: true, stream_options.include_usage), so deltas pass through as
// they arrive and the token counts come from the remote's own usage report; logprobs are requested
// when the caller asks for them (the cascade's confidence signals do).
//
// Failures: HTTP 429 and 5xx, time-outs and transport errors (connection refused, reset, DNS) are
// retried with exponential back-off and jitter (Retry-After honoured, capped) — only while nothing
// has been passed on to the caller, at most `max_retries` times, and never past the deadline. What
// cannot be retried ends the generation with Finish::error / Finish::timeout and a message naming the
// provider and what the remote said.
//
// Connections are reused: finished curl handles go back to a pool (each keeps its connection alive),
// and all handles share one connection cache and DNS cache. Each running call holds one thread: a
// worker's, or the caller's own when the caller waits for the answer anyway and starts the call on
// that thread (GenerationCallbacks::inline_thread; start() then returns after on_done).
#pragma once
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "router/provider.h"
#include "router/worker_threads.h"

namespace kinglet::router {

struct RemoteOptions {
    std::string name;               // for messages
    std::string base_url;           // e.g. https://api.example.com/v1 (no trailing /chat/completions)
    std::string api_key;            // sent as "Authorization: Bearer KEY" when not empty
    std::string model;              // the remote's model name
    double timeout_s = 60;          // one attempt, first byte to last
    double connect_timeout_s = 5;
    int max_retries = 2;            // attempts after the first
    double retry_base_s = 0.25;     // back-off: base * 2^attempt, jittered, at most retry_max_s
    double retry_max_s = 8;
    int context_length = 0;         // for /v1/models (0 = unknown)
};

class RemoteProvider final : public Provider, public std::enable_shared_from_this<RemoteProvider> {
public:
    // Throws Error(invalid_argument) for a base_url that is not http:// or https://.
    explicit RemoteProvider(RemoteOptions opt);
    ~RemoteProvider() override;

    ProviderInfo info() const override;
    // Chat and text requests; embeddings are unsupported. Token-id prompts and logit_bias are refused
    // (token ids mean nothing to another model's vocabulary).
    std::unique_ptr<Generation> start(GenerationRequest req, GenerationCallbacks cb) override;
    void shutdown(std::chrono::steady_clock::time_point deadline) override;

    const RemoteOptions& options() const { return opt_; }

    // The request body sent for `req` (exposed for tests).
    std::string request_body(const GenerationRequest& req) const;

    struct Call;  // one running generation (remote_provider.cpp)

private:
    void run(std::shared_ptr<Call> call);
    void* acquire();
    void release(void* handle);

    RemoteOptions opt_;
    int64_t created_ = 0;
    void* share_ = nullptr;          // CURLSH*: connection and DNS caches shared by the handles
    std::unique_ptr<std::mutex[]> share_locks_;  // one per curl_lock_data
    std::mutex mu_;
    std::condition_variable idle_;
    std::vector<void*> pool_;        // idle CURL* handles
    int running_ = 0;
    bool stopping_ = false;
    std::vector<std::weak_ptr<Call>> calls_;  // running, for shutdown
    WorkerThreads workers_;                   // one blocking libcurl transfer per busy worker
};

}  // namespace kinglet::router
