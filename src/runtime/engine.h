// The Engine: one loaded model serving many requests at once with continuous batching. Requests join
// and leave the running batch at every step; all running sequences' next tokens are computed in one
// forward pass (one read of the weights), interleaved with chunks of newly admitted prompts. Prompts
// that share a prefix with earlier ones reuse its cached KV blocks. Thread-safe: submit and cancel
// from any thread; callbacks run on the engine's thread and must be quick.
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "core/thread_pool.h"
#include "model/forward.h"
#include "model/model.h"
#include "runtime/block_manager.h"
#include "sampling/sampler.h"
#include "tokenizer/tokenizer.h"

namespace kinglet {

struct EngineOptions {
    int n_ctx = 0;               // max tokens per sequence (prompt + generated); 0 = min(train ctx, 4096)
    int max_seqs = 4;            // sequences decoded together
    int n_threads = 0;           // 0 = physical cores
    DType kv_type = DType::F16;  // F16, F32 or Q8_0 (model head sizes multiples of 32)
    int max_batch_tokens = 512;  // tokens per forward pass (prefill chunk size)
    bool prefix_cache = true;
    int kv_blocks = 0;           // 0 = enough for max_seqs full contexts
    size_t max_queue = 256;      // waiting requests beyond this are refused (Errc::overloaded)
};

enum class FinishReason { stop, length, cancelled, timeout, error };
const char* finish_reason_name(FinishReason r);

struct TokenInfo {
    int32_t id = 0;
    float logprob = 0;                                   // log-softmax of the raw logits
    std::vector<std::pair<int32_t, float>> top_logprobs; // when asked
    std::vector<std::pair<int32_t, float>> top_logits;   // raw logits, when asked
};

// Text released since the previous event (complete UTF-8, stop strings never included) and the
// tokens generated since then.
struct StreamEvent {
    std::string text;
    std::vector<TokenInfo> tokens;
};

struct Completion {
    std::vector<int32_t> prompt_tokens;
    std::vector<int32_t> tokens;      // generated ids (a stop token that ended generation is included)
    std::vector<TokenInfo> token_info;
    std::string text;                 // generated text, cut before a matched stop string
    FinishReason finish = FinishReason::stop;
    std::string error;                // when finish == error
    int n_cached_prompt = 0;          // prompt tokens whose KV came from the prefix cache
    double ttft_ms = 0;               // submit -> first generated token
    double total_ms = 0;
    std::vector<float> embedding;     // embedding requests: mean-pooled, L2-normalised
};

struct Request {
    std::vector<int32_t> prompt;
    SamplingParams sampling = SamplingParams::greedy();
    int max_tokens = 256;
    std::vector<std::string> stop;
    bool ignore_eos = false;
    int logprobs = -1;                // -1 none; 0 chosen token only; k > 0 also the top k
    int top_logits = 0;               // raw top logits per step (diagnostics, `kinglet run --top-logits`)
    std::shared_ptr<Constraint> constraint;
    bool embedding = false;           // compute a pooled embedding of the prompt instead of generating
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
    // Return false to cancel (e.g. the client went away).
    std::function<bool(const StreamEvent&)> on_event;
    std::function<void(Completion&&)> on_done;
};

struct EngineStats {
    size_t waiting = 0;
    size_t running = 0;
    int kv_blocks_total = 0;
    int kv_blocks_used = 0;
    uint64_t prefix_hit_blocks = 0;
    uint64_t steps = 0;
    uint64_t tokens_generated = 0;
    uint64_t tokens_prefilled = 0;
};

class Engine {
public:
    Engine(std::shared_ptr<const Model> model, std::shared_ptr<const Tokenizer> tokenizer, EngineOptions opt = {});
    ~Engine();
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    // Queues a request; returns its id. Throws Error(invalid_argument) for a bad request (empty
    // prompt, prompt longer than the context — the message says both lengths) and
    // Error(overloaded) when the queue is full.
    uint64_t submit(Request r);
    void cancel(uint64_t id);
    // Submits and waits (callbacks in `r` are still called).
    Completion generate(Request r);

    // Stops admitting; cancels what has not finished by `deadline`; joins the thread.
    void shutdown(std::chrono::steady_clock::time_point deadline);

    EngineStats stats() const;
    const Model& model() const { return *model_; }
    const Tokenizer& tokenizer() const { return *tok_; }
    const EngineOptions& options() const { return opt_; }
    int n_ctx() const { return opt_.n_ctx; }
    // Bytes of the KV cache pool (committed at construction).
    size_t kv_bytes() const { return kv_.bytes(); }

private:
    struct Seq;
    void loop();
    bool step();  // one forward pass; false when there was nothing to do
    void admit();
    bool build_batch();
    void finish(Seq& s, FinishReason r, std::string error = {});
    bool emit(Seq& s, bool final);
    void release_blocks(Seq& s);
    void preempt_newest(const Seq* keep);

    std::shared_ptr<const Model> model_;
    std::shared_ptr<const Tokenizer> tok_;
    EngineOptions opt_;
    ThreadPool pool_;
    KvCache kv_;
    Forward fwd_;
    BlockManager blocks_;

    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::unique_ptr<Seq>> incoming_;   // guarded by mu_
    std::unordered_set<uint64_t> cancel_;        // guarded by mu_
    bool stopping_ = false;                      // guarded by mu_
    std::chrono::steady_clock::time_point stop_deadline_;
    uint64_t next_id_ = 1;                       // guarded by mu_

    // Engine-thread state.
    std::deque<std::unique_ptr<Seq>> waiting_;
    std::vector<std::unique_ptr<Seq>> running_;  // admission order
    Batch batch_;
    std::vector<Seq*> batch_seq_;                // per batch.seqs entry
    std::vector<int32_t> batch_count_;           // tokens each batch seq contributes
    std::vector<float> logits_, hidden_;
    struct Pick {                                // a sequence to sample this step
        Seq* seq;
        float* logits;
        TokenInfo info;
    };
    std::vector<Pick> picks_;
    EngineStats stats_;                          // guarded by mu_ when read
    std::thread thread_;
};

}  // namespace kinglet
