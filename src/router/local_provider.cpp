#include "router/local_provider.h"

#include <algorithm>
#include <ctime>
#include <random>

#include "core/error.h"
#include "tokenizer/unicode.h"

namespace kinglet::router {

const char* finish_name(Finish f) {
    switch (f) {
        case Finish::stop: return "stop";
        case Finish::length: return "length";
        case Finish::cancelled: return "cancelled";
        case Finish::timeout: return "timeout";
        case Finish::error: return "error";
    }
    return "?";
}

std::string fallback_template_name(const Tokenizer& tok) {
    auto has = [&](std::string_view t) { return tok.find_token(t) >= 0; };
    if (has("<|im_start|>")) return "chatml";
    if (has("<|start_header_id|>")) return "llama3";
    if (has("<start_of_turn>")) return "gemma";
    if (has("<|start_of_role|>")) return "granite";
    if (has("<|assistant|>") && has("<|end|>")) return "phi3";
    if (has("[INST]")) return "mistral";
    return "chatml";
}

Finish to_finish(FinishReason r) {
    switch (r) {
        case FinishReason::stop: return Finish::stop;
        case FinishReason::length: return Finish::length;
        case FinishReason::cancelled: return Finish::cancelled;
        case FinishReason::timeout: return Finish::timeout;
        case FinishReason::error: return Finish::error;
    }
    return Finish::error;
}

namespace {

std::string special_text(const Tokenizer& tok, int32_t id) {
    if (id < 0 || id >= tok.n_vocab()) return {};
    return tok.token_to_piece(id, true);
}

class LocalGeneration final : public Generation {
public:
    LocalGeneration(std::shared_ptr<const LocalProvider> owner, Engine& engine, uint64_t id)
        : owner_(std::move(owner)), engine_(engine), id_(id) {}
    void cancel() override { engine_.cancel(id_); }

private:
    std::shared_ptr<const LocalProvider> owner_;  // keeps the engine alive
    Engine& engine_;
    uint64_t id_;
};

}  // namespace

LocalProvider::LocalProvider(std::shared_ptr<const Model> model, LocalModelOptions opt)
    : model_(std::move(model)), tok_(model_->tokenizer()) {
    std::string source = opt.chat_template;
    template_label_ = opt.chat_template_label;
    if (source.empty()) {
        source = model_->chat_template();
        template_label_ = "model";
    }
    if (source.empty()) {
        template_label_ = fallback_template_name(*tok_);
        source = *chat::builtin_template(template_label_);
    }
    try {
        template_ = std::make_unique<chat::ChatTemplate>(source);
    } catch (const Error& e) {
        fail(Errc::invalid_file, "{}: chat template ({}): {}", model_->path(), template_label_, e.what());
    }
    bos_text_ = special_text(*tok_, tok_->vocab().bos);
    eos_text_ = special_text(*tok_, tok_->vocab().eos);
    engine_ = std::make_unique<Engine>(model_, tok_, opt.engine);
    created_ = int64_t(std::time(nullptr));
}

LocalProvider::~LocalProvider() { engine_->shutdown(std::chrono::steady_clock::now()); }

ProviderInfo LocalProvider::info() const {
    ProviderInfo i;
    i.kind = "local";
    i.created = created_;
    i.context_length = engine_->n_ctx();
    i.parallel = engine_->options().max_seqs;
    i.kv_cache_bytes = int64_t(engine_->kv_bytes());
    i.embeddings = true;
    i.chat_template = template_label_;
    return i;
}

std::string LocalProvider::render_chat(const std::vector<chat::Message>& messages) const {
    return template_->apply(messages, /*add_generation_prompt=*/true, bos_text_, eos_text_);
}

std::vector<int32_t> LocalProvider::prompt_tokens(const GenerationRequest& req) const {
    if (!req.prompt_tokens.empty()) return req.prompt_tokens;
    if (req.kind == GenerationRequest::Kind::chat) {
        // As Hugging Face's apply_chat_template(tokenize=True): the template writes BOS where the model
        // wants it, so none is added; special-token text in the rendered prompt becomes those tokens.
        return tok_->encode(render_chat(req.messages), /*add_bos=*/false, /*parse_special=*/true);
    }
    return tok_->encode(req.prompt, /*add_bos=*/true, /*parse_special=*/true);
}

std::shared_ptr<const JsonVocab> LocalProvider::json_vocab() const {
    std::call_once(json_once_, [this] { json_vocab_ = make_json_vocab(*tok_); });
    return json_vocab_;
}

TokenText LocalProvider::token_text(int32_t id, float logprob) const {
    TokenText t;
    t.bytes = tok_->token_to_piece(id, /*render_special=*/true);
    t.token = unicode::sanitize_utf8(t.bytes);
    t.logprob = logprob;
    return t;
}

TokenLogprob LocalProvider::token_logprob(const TokenInfo& info) const {
    TokenLogprob t;
    static_cast<TokenText&>(t) = token_text(info.id, info.logprob);
    t.top.reserve(info.top_logprobs.size());
    for (const auto& [id, lp] : info.top_logprobs) t.top.push_back(token_text(id, lp));
    return t;
}

std::unique_ptr<Generation> LocalProvider::start(GenerationRequest req, GenerationCallbacks cb) {
    if (!req.labels.empty() && req.kind != GenerationRequest::Kind::embedding)
    {
        auto prompt = prompt_tokens(req);
        return start_labels(std::move(req), std::move(cb), std::move(prompt));
    }
    Request r;
    r.prompt = prompt_tokens(req);
    const int n_ctx = engine_->n_ctx();
    const int n_vocab = tok_->n_vocab();
    if (req.kind == GenerationRequest::Kind::embedding) {
        r.embedding = true;
        r.max_tokens = 0;
    } else {
        if (int(r.prompt.size()) >= n_ctx)
            fail(Errc::invalid_argument,
                 "the prompt is {} tokens long but this model's context is {} tokens (at least one must remain "
                 "for the answer)",
                 r.prompt.size(), n_ctx);
        if (req.max_tokens) {
            if (int64_t(r.prompt.size()) + *req.max_tokens > n_ctx)
                fail(Errc::invalid_argument,
                     "this model's context is {} tokens, but {} were requested ({} in the prompt, {} for the "
                     "completion): lower max_tokens",
                     n_ctx, int64_t(r.prompt.size()) + *req.max_tokens, r.prompt.size(), *req.max_tokens);
            r.max_tokens = *req.max_tokens;
        } else {
            r.max_tokens = n_ctx - int(r.prompt.size());
            if (req.default_max_tokens > 0) r.max_tokens = std::min(r.max_tokens, req.default_max_tokens);
        }
        SamplingParams& s = r.sampling;
        s.temperature = req.temperature;
        s.top_k = req.top_k;
        s.top_p = req.top_p;
        s.min_p = req.min_p;
        s.repeat_penalty = 1.0f;
        s.repeat_last_n = -1;
        s.presence_penalty = req.presence_penalty;
        s.frequency_penalty = req.frequency_penalty;
        s.seed = req.seed ? *req.seed : std::random_device{}() * 0x9E3779B97F4A7C15ull + std::random_device{}();
        for (const auto& [id, bias] : req.logit_bias) {
            if (id < 0 || id >= n_vocab)
                fail(Errc::invalid_argument, "logit_bias: token id {} is outside this model's vocabulary (0..{})", id,
                     n_vocab - 1);
            s.logit_bias[id] = bias;
        }
        r.stop = req.stop;
        r.logprobs = req.logprobs;
        if (req.json_schema) r.constraint = std::make_shared<JsonConstraint>(json_vocab(), req.json_schema);
        else if (req.json_object) r.constraint = std::make_shared<JsonConstraint>(json_vocab());
    }
    r.deadline = req.deadline;

    const bool logprobs = req.logprobs >= 0;
    if (cb.on_delta) {
        auto on_delta = std::move(cb.on_delta);
        r.on_event = [this, on_delta, logprobs](const StreamEvent& ev) {
            GenerationDelta d;
            d.text = ev.text;
            // The end-of-generation token ends the text without being part of it.
            if (logprobs)
                for (const auto& t : ev.tokens)
                    if (!tok_->is_eog(t.id)) d.logprobs.push_back(token_logprob(t));
            return on_delta(std::move(d));
        };
    }
    auto on_done = std::move(cb.on_done);
    r.on_done = [this, on_done, logprobs](Completion&& c) {
        GenerationResult g;
        g.finish = to_finish(c.finish);
        g.text = std::move(c.text);
        g.prompt_tokens = int(c.prompt_tokens.size());
        g.completion_tokens = int(c.tokens.size());
        g.cached_prompt_tokens = c.n_cached_prompt;
        g.embedding = std::move(c.embedding);
        g.ttft_ms = c.ttft_ms;
        g.total_ms = c.total_ms;
        if (logprobs)
            for (const auto& t : c.token_info)
                if (!tok_->is_eog(t.id)) g.logprobs.push_back(token_logprob(t));
        if (c.finish == FinishReason::error) {
            g.error_code = Errc::internal;
            g.error = c.error;
        } else if (c.finish == FinishReason::timeout) {
            g.error = c.error.empty() ? "the request timed out" : c.error;
        } else if (c.finish == FinishReason::cancelled) {
            g.error = c.error;
        }
        if (on_done) on_done(std::move(g));
    };
    const uint64_t id = engine_->submit(std::move(r));
    return std::make_unique<LocalGeneration>(shared_from_this(), *engine_, id);
}

}  // namespace kinglet::router
