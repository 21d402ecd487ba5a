#include "runtime/engine.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <future>

#include "core/error.h"
#include "core/log.h"

namespace kinglet {

const char* finish_reason_name(FinishReason r) {
    switch (r) {
        case FinishReason::stop: return "stop";
        case FinishReason::length: return "length";
        case FinishReason::cancelled: return "cancelled";
        case FinishReason::timeout: return "timeout";
        case FinishReason::error: return "error";
    }
    return "?";
}

struct Engine::Seq {
    uint64_t id = 0;
    Request req;
    std::vector<int32_t> tokens;  // prompt + generated
    size_t n_prompt = 0;
    int n_computed = 0;           // tokens whose KV is in the cache
    std::vector<int32_t> blocks;
    int n_registered = 0;         // leading full blocks registered for prefix sharing
    std::unique_ptr<Sampler> sampler;
    std::unique_ptr<StreamDetokenizer> detok;
    std::string text;             // generated text so far
    size_t sent = 0;              // bytes of `text` released to the client
    std::vector<TokenInfo> info;
    size_t info_sent = 0;
    int n_cached_prompt = 0;
    std::vector<double> embd_sum;
    bool done = false;
    bool stopped = false;         // a stop string matched
    std::chrono::steady_clock::time_point submitted, first_token;
};

namespace {

int resolve_ctx(const Model& m, int n_ctx) {
    if (n_ctx <= 0) n_ctx = std::min(m.hparams().n_ctx_train, 4096);
    return n_ctx;
}

int resolve_blocks(const EngineOptions& o, int block_tokens) {
    if (o.kv_blocks > 0) return o.kv_blocks;
    return (o.n_ctx + block_tokens - 1) / block_tokens * std::max(1, o.max_seqs);
}

EngineOptions resolve(const Model& m, EngineOptions o) {
    o.n_ctx = resolve_ctx(m, o.n_ctx);
    if (o.max_seqs < 1) o.max_seqs = 1;
    if (o.n_threads <= 0) o.n_threads = default_thread_count();
    if (o.max_batch_tokens < 1) o.max_batch_tokens = 512;
    // Every running sequence gets at least one token of every step's batch.
    o.max_batch_tokens = std::max(o.max_batch_tokens, o.max_seqs);
    return o;
}

constexpr int kBlockTokens = 32;

}  // namespace

Engine::Engine(std::shared_ptr<const Model> model, std::shared_ptr<const Tokenizer> tokenizer, EngineOptions opt)
    : model_(std::move(model)),
      tok_(std::move(tokenizer)),
      opt_(resolve(*model_, opt)),
      pool_(opt_.n_threads),
      kv_(model_->hparams(), opt_.kv_type, resolve_blocks(opt_, kBlockTokens), kBlockTokens),
      fwd_(*model_, kv_, pool_, opt_.max_batch_tokens, opt_.n_ctx),
      blocks_(kv_.n_blocks(), kBlockTokens, opt_.prefix_cache) {
    logits_.resize(size_t(opt_.max_seqs) * model_->hparams().n_vocab);
    hidden_.resize(size_t(opt_.max_batch_tokens) * model_->hparams().n_embd);
    stats_.kv_blocks_total = kv_.n_blocks();
    thread_ = std::thread([this] { loop(); });
}

Engine::~Engine() { shutdown(std::chrono::steady_clock::now()); }

uint64_t Engine::submit(Request r) {
    if (r.prompt.empty()) fail(Errc::invalid_argument, "the prompt is empty (no tokens)");
    const int n_vocab = model_->hparams().n_vocab;
    for (int32_t t : r.prompt)
        if (t < 0 || t >= n_vocab) fail(Errc::invalid_argument, "prompt token {} is outside the vocabulary (0..{})", t, n_vocab - 1);
    const size_t limit = size_t(opt_.n_ctx) - (r.embedding ? 0 : 1);
    if (r.prompt.size() > limit)
        fail(Errc::invalid_argument, "the prompt has {} tokens but the context is {} tokens{}", r.prompt.size(),
             opt_.n_ctx, r.embedding ? "" : " (at least one must remain for the answer)");
    if (r.max_tokens < 0) fail(Errc::invalid_argument, "max_tokens must not be negative (is {})", r.max_tokens);
    auto s = std::make_unique<Seq>();
    s->sampler = std::make_unique<Sampler>(r.sampling, n_vocab);  // validates sampling parameters
    s->detok = std::make_unique<StreamDetokenizer>(*tok_, /*render_special=*/false);
    s->tokens = r.prompt;
    s->n_prompt = r.prompt.size();
    s->req = std::move(r);
    s->submitted = std::chrono::steady_clock::now();
    uint64_t id;
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_) fail(Errc::overloaded, "the engine is shutting down");
        if (incoming_.size() + stats_.waiting >= opt_.max_queue)
            fail(Errc::overloaded, "the request queue is full ({} waiting)", opt_.max_queue);
        id = next_id_++;
        s->id = id;
        incoming_.push_back(std::move(s));
    }
    cv_.notify_one();
    return id;
}

void Engine::cancel(uint64_t id) {
    {
        std::lock_guard<std::mutex> lock(mu_);
        cancel_.insert(id);
    }
    cv_.notify_one();
}

Completion Engine::generate(Request r) {
    auto promise = std::make_shared<std::promise<Completion>>();
    auto fut = promise->get_future();
    auto user_done = std::move(r.on_done);
    r.on_done = [promise, user_done](Completion&& c) {
        if (user_done) {
            Completion copy = c;
            user_done(std::move(copy));
        }
        promise->set_value(std::move(c));
    };
    submit(std::move(r));
    return fut.get();
}

void Engine::shutdown(std::chrono::steady_clock::time_point deadline) {
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (!thread_.joinable()) return;
        stopping_ = true;
        stop_deadline_ = deadline;
    }
    cv_.notify_one();
    thread_.join();
}

EngineStats Engine::stats() const {
    std::lock_guard<std::mutex> lock(mu_);
    EngineStats s = stats_;
    s.waiting += incoming_.size();
    return s;
}

void Engine::loop() {
    for (;;) {
        bool stopping;
        std::chrono::steady_clock::time_point deadline;
        {
            std::unique_lock<std::mutex> lock(mu_);
            cv_.wait(lock, [&] { return stopping_ || !incoming_.empty() || !cancel_.empty() || !running_.empty() || !waiting_.empty(); });
            while (!incoming_.empty()) {
                waiting_.push_back(std::move(incoming_.front()));
                incoming_.pop_front();
            }
            stopping = stopping_;
            deadline = stop_deadline_;
        }
        if (stopping && std::chrono::steady_clock::now() >= deadline) {
            for (auto& s : running_) finish(*s, FinishReason::cancelled, "the server is shutting down");
            for (auto& s : waiting_) finish(*s, FinishReason::cancelled, "the server is shutting down");
            running_.clear();
            waiting_.clear();
            std::lock_guard<std::mutex> lock(mu_);
            stats_.running = stats_.waiting = 0;
            return;
        }
        if (stopping && running_.empty() && waiting_.empty()) return;
        try {
            step();
        } catch (const std::exception& e) {
            // A failure inside a forward pass ends the requests in it, not the server.
            log::error("engine step failed: {}", e.what());
            for (auto& s : running_) finish(*s, FinishReason::error, e.what());
            running_.clear();
        }
    }
}

void Engine::release_blocks(Seq& s) {
    for (int32_t b : s.blocks) blocks_.release(b);
    s.blocks.clear();
    s.n_registered = 0;
}

void Engine::finish(Seq& s, FinishReason r, std::string error) {
    if (s.done) return;
    s.done = true;
    release_blocks(s);
    if (r != FinishReason::error && !s.req.embedding) {
        // Release whatever text is left (stop-string hold-back is void at the end). After a stop
        // match the text was already cut and nothing after it is released.
        if (!s.stopped) s.text += s.detok->finish();
        if (s.sent < s.text.size() || s.info_sent < s.info.size()) emit(s, true);
    }
    Completion c;
    c.prompt_tokens.assign(s.tokens.begin(), s.tokens.begin() + s.n_prompt);
    c.tokens.assign(s.tokens.begin() + s.n_prompt, s.tokens.end());
    c.token_info = std::move(s.info);
    c.text = s.text.substr(0, s.sent);
    c.finish = r;
    c.error = std::move(error);
    c.n_cached_prompt = s.n_cached_prompt;
    auto now = std::chrono::steady_clock::now();
    c.total_ms = std::chrono::duration<double, std::milli>(now - s.submitted).count();
    if (s.first_token.time_since_epoch().count())
        c.ttft_ms = std::chrono::duration<double, std::milli>(s.first_token - s.submitted).count();
    if (s.req.embedding && r == FinishReason::stop) {
        double norm = 0;
        for (double v : s.embd_sum) norm += v * v;
        norm = std::sqrt(norm);
        c.embedding.resize(s.embd_sum.size());
        for (size_t i = 0; i < s.embd_sum.size(); ++i) c.embedding[i] = norm > 0 ? float(s.embd_sum[i] / norm) : 0.0f;
    }
    if (s.req.on_done) s.req.on_done(std::move(c));
}

// Releases text up to the point where a stop string might still begin; on a full match cuts the
// text before it and returns true.
bool Engine::emit(Seq& s, bool final) {
    size_t release = s.text.size();
    bool matched = false;
    if (!final) {
        for (const auto& stop : s.req.stop) {
            if (stop.empty()) continue;
            // Hold-back guarantees a match cannot start in text already released.
            size_t at = s.text.find(stop, s.sent);
            if (at != std::string::npos) {
                s.text.resize(at);
                release = at;
                matched = true;
                break;
            }
            // Hold back the longest suffix that is a prefix of the stop string.
            for (size_t k = std::min(stop.size() - 1, s.text.size() - s.sent); k > 0; --k) {
                if (s.text.compare(s.text.size() - k, k, stop, 0, k) == 0) {
                    release = std::min(release, s.text.size() - k);
                    break;
                }
            }
        }
    }
    StreamEvent ev;
    if (release > s.sent) ev.text = s.text.substr(s.sent, release - s.sent);
    s.sent = std::max(s.sent, release);
    ev.tokens.assign(s.info.begin() + s.info_sent, s.info.end());
    s.info_sent = s.info.size();
    if (ev.text.empty() && ev.tokens.empty()) return matched;
    if (s.req.on_event && !s.req.on_event(ev)) {
        std::lock_guard<std::mutex> lock(mu_);
        cancel_.insert(s.id);
    }
    return matched;
}

void Engine::admit() {
    const int BT = blocks_.block_tokens();
    while (!waiting_.empty() && running_.size() < size_t(opt_.max_seqs)) {
        Seq& s = *waiting_.front();
        if (s.blocks.empty() && !s.req.embedding) {
            // Leave at least one token to compute so the prompt's last position yields logits.
            int max_blocks = int((s.tokens.size() - 1) / BT);
            s.blocks = blocks_.match_prefix(s.tokens, max_blocks);
            s.n_computed = int(s.blocks.size()) * BT;
            s.n_registered = int(s.blocks.size());
            if (s.n_computed > 0 && s.n_prompt >= size_t(s.n_computed)) s.n_cached_prompt = s.n_computed;
        }
        int needed = int((s.tokens.size() + BT - 1) / BT) - int(s.blocks.size()) + 1;
        if (needed > blocks_.available() && !running_.empty()) {
            release_blocks(s);
            s.n_computed = 0;
            s.n_cached_prompt = 0;
            break;  // wait for running sequences to free memory
        }
        running_.push_back(std::move(waiting_.front()));
        waiting_.pop_front();
    }
}

void Engine::preempt_newest(const Seq* keep) {
    for (auto it = running_.rbegin(); it != running_.rend(); ++it) {
        if (it->get() == keep) continue;
        Seq& s = **it;
        log::debug("preempting request {} ({} tokens) to free KV blocks", s.id, s.tokens.size());
        release_blocks(s);
        s.n_computed = 0;
        waiting_.push_front(std::move(*it));
        running_.erase(std::next(it).base());
        return;
    }
    fail(Errc::overloaded, "the KV cache is too small for one sequence of {} tokens", keep ? keep->tokens.size() : 0);
}

// Fills batch_: one token for each sequence that is decoding, then prompt chunks, within the budget.
// Returns false if a block could not be allocated (the caller preempts and retries).
bool Engine::build_batch() {
    const int BT = blocks_.block_tokens();
    batch_.clear();
    batch_seq_.clear();
    batch_count_.clear();
    int budget = opt_.max_batch_tokens;
    auto ensure_blocks = [&](Seq& s, int upto_pos) {
        while (int(s.blocks.size()) * BT <= upto_pos) {
            int32_t b = blocks_.allocate();
            if (b < 0) return false;
            s.blocks.push_back(b);
        }
        return true;
    };
    auto add_seq = [&](Seq& s, int n) {
        int si = int(batch_.seqs.size());
        batch_.seqs.push_back({s.blocks.data(), int32_t(s.blocks.size())});
        batch_seq_.push_back(&s);
        batch_count_.push_back(n);
        for (int i = 0; i < n; ++i) {
            int p = s.n_computed + i;
            uint8_t out = Batch::kNone;
            if (s.req.embedding) out = Batch::kHidden;
            else if (p == int(s.tokens.size()) - 1) out = Batch::kLogits;
            batch_.add(s.tokens[p], p, si, out);
        }
    };
    // Pass 1: decoding sequences (one pending token), pass 2: prompts.
    for (int pass = 0; pass < 2; ++pass) {
        for (auto& sp : running_) {
            Seq& s = *sp;
            int pending = int(s.tokens.size()) - s.n_computed;
            bool decoding = pending == 1 && s.n_computed >= int(s.n_prompt);
            if (pending <= 0 || decoding != (pass == 0) || budget <= 0) continue;
            int n = std::min(pending, budget);
            if (!ensure_blocks(s, s.n_computed + n - 1)) return false;
            budget -= n;
            add_seq(s, n);
        }
    }
    // The block tables may have grown while adding later sequences; refresh the pointers.
    for (size_t i = 0; i < batch_seq_.size(); ++i)
        batch_.seqs[i] = {batch_seq_[i]->blocks.data(), int32_t(batch_seq_[i]->blocks.size())};
    return true;
}

bool Engine::step() {
    // Cancellations and deadlines first: they free memory for this step.
    std::unordered_set<uint64_t> cancelled;
    {
        std::lock_guard<std::mutex> lock(mu_);
        cancelled.swap(cancel_);
    }
    auto now = std::chrono::steady_clock::now();
    auto sweep = [&](auto& list) {
        for (auto& s : list) {
            if (cancelled.count(s->id)) finish(*s, FinishReason::cancelled);
            else if (now > s->req.deadline) finish(*s, FinishReason::timeout, "the request timed out");
        }
        list.erase(std::remove_if(list.begin(), list.end(), [](auto& s) { return s->done; }), list.end());
    };
    sweep(running_);
    sweep(waiting_);

    admit();
    if (running_.empty()) {
        std::lock_guard<std::mutex> lock(mu_);
        stats_.running = 0;
        stats_.waiting = waiting_.size();
        stats_.kv_blocks_used = blocks_.in_use();  // cancelled sequences may just have freed theirs
        return false;
    }
    while (!build_batch()) preempt_newest(running_.empty() ? nullptr : running_.front().get());
    if (batch_.size() == 0) return false;

    fwd_.run(batch_, logits_.data(), hidden_.data());

    const int BT = blocks_.block_tokens();
    const int n_vocab = model_->hparams().n_vocab, n_embd = model_->hparams().n_embd;
    int logit_row = 0, hidden_row = 0;
    uint64_t generated = 0, prefilled = 0;
    for (size_t i = 0; i < batch_seq_.size(); ++i) {
        Seq& s = *batch_seq_[i];
        const int n = batch_count_[i];
        const bool was_prompt = s.n_computed < int(s.n_prompt);
        s.n_computed += n;
        if (was_prompt) prefilled += std::min<int>(n, int(s.n_prompt) - (s.n_computed - n));
        // Newly completed blocks become shareable prefixes.
        while (s.n_registered < s.n_computed / BT) {
            int b = s.n_registered;
            blocks_.register_full(s.blocks[b], b ? s.blocks[b - 1] : -1, &s.tokens[size_t(b) * BT]);
            ++s.n_registered;
        }
        if (s.req.embedding) {
            if (s.embd_sum.empty()) s.embd_sum.assign(n_embd, 0.0);
            for (int t = 0; t < n; ++t, ++hidden_row) {
                const float* h = &hidden_[size_t(hidden_row) * n_embd];
                for (int j = 0; j < n_embd; ++j) s.embd_sum[j] += h[j];
            }
            if (s.n_computed == int(s.tokens.size())) finish(s, FinishReason::stop);
            continue;
        }
        if (s.n_computed != int(s.tokens.size())) continue;  // prompt chunk without output
        float* logits = &logits_[size_t(logit_row++) * n_vocab];
        ++hidden_row;
        if (s.req.max_tokens == 0) {
            finish(s, FinishReason::length);
            continue;
        }
        picks_.push_back({&s, logits, {}});
    }

    // Sampling (and log-probabilities) of every sequence that produced logits, in parallel: each
    // sequence's sampler and constraint are its own, and a whole-vocabulary pass per sequence is
    // worth spreading once many sequences decode together.
    pool_.parallel_chunks(int64_t(picks_.size()), [&](int64_t k) {
        Pick& p = picks_[size_t(k)];
        Seq& s = *p.seq;
        TokenInfo& info = p.info;
        // Log-probabilities come from the model's raw distribution, before any sampler changes.
        if (s.req.top_logits > 0) info.top_logits = top_logits(p.logits, n_vocab, s.req.top_logits);
        std::vector<float> raw;
        if (s.req.logprobs >= 0) raw.assign(p.logits, p.logits + n_vocab);
        info.id = s.sampler->sample(p.logits, s.tokens, s.req.constraint.get());
        if (s.req.logprobs >= 0) {
            info.logprob = log_prob(raw.data(), n_vocab, info.id);
            if (s.req.logprobs > 0) info.top_logprobs = top_log_probs(raw.data(), n_vocab, s.req.logprobs);
        }
    });

    for (Pick& p : picks_) {
        Seq& s = *p.seq;
        TokenInfo& info = p.info;
        const int32_t tok = info.id;
        if (s.req.constraint) s.req.constraint->accept(tok);
        if (!s.first_token.time_since_epoch().count()) s.first_token = std::chrono::steady_clock::now();
        s.tokens.push_back(tok);
        s.info.push_back(std::move(info));
        ++generated;
        const bool eog = tok_->is_eog(tok) && !s.req.ignore_eos;
        if (!eog) s.text += s.detok->push(tok);
        const bool stop_hit = emit(s, false);
        s.stopped = stop_hit;
        const int n_gen = int(s.tokens.size() - s.n_prompt);
        if (eog || stop_hit) finish(s, FinishReason::stop);
        else if (n_gen >= s.req.max_tokens || int(s.tokens.size()) >= opt_.n_ctx) finish(s, FinishReason::length);
        else if (s.req.constraint && s.req.constraint->complete()) finish(s, FinishReason::stop);
    }
    picks_.clear();
    running_.erase(std::remove_if(running_.begin(), running_.end(), [](auto& s) { return s->done; }), running_.end());
    std::lock_guard<std::mutex> lock(mu_);
    stats_.steps++;
    stats_.tokens_generated += generated;
    stats_.tokens_prefilled += prefilled;
    stats_.running = running_.size();
    stats_.waiting = waiting_.size();
    stats_.kv_blocks_used = blocks_.in_use();
    stats_.prefix_hit_blocks = blocks_.prefix_hits();
    return true;
}

}  // namespace kinglet
