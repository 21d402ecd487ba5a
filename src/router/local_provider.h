// A model loaded in this process, served by its own Engine (continuous batching, prefix cache).
// Chat requests are rendered with the model's chat template — or, for a file without one, a built-in
// template chosen from its vocabulary (see fallback_template_name) — and tokenized the way Hugging
// Face's apply_chat_template does: special-token text in the rendered prompt becomes those tokens and
// no BOS is added (templates write it). Text prompts get BOS when the vocabulary asks for it, and their
// special-token text is parsed too (as Hugging Face tokenizers, vLLM and llama-server do).
#pragma once
#include <memory>
#include <mutex>
#include <string>

#include "chat/template.h"
#include "model/model.h"
#include "router/provider.h"
#include "sampling/json_constraint.h"
#include "runtime/engine.h"

namespace kinglet::router {

struct LocalModelOptions {
    EngineOptions engine;
    // The chat template: "" = the model file's own (a built-in fallback when it has none); otherwise
    // Jinja source given by the caller, labelled `chat_template_label` in /v1/models.
    std::string chat_template;
    std::string chat_template_label;
};

// The built-in template for a vocabulary without one: matched by its special tokens (<|im_start|> ->
// chatml, <|start_header_id|> -> llama3, <start_of_turn> -> gemma, <|start_of_role|> -> granite,
// <|assistant|> and <|end|> -> phi3, [INST] -> mistral), else chatml (llama.cpp's default too).
std::string fallback_template_name(const Tokenizer& tok);

class LocalProvider final : public Provider, public std::enable_shared_from_this<LocalProvider> {
public:
    // Starts the engine's thread. Throws Error for a bad template or engine options.
    LocalProvider(std::shared_ptr<const Model> model, LocalModelOptions opt);
    ~LocalProvider() override;

    ProviderInfo info() const override;
    std::unique_ptr<Generation> start(GenerationRequest req, GenerationCallbacks cb) override;
    const Tokenizer* tokenizer() const override { return tok_.get(); }
    std::vector<int32_t> prompt_tokens(const GenerationRequest& req) const override;
    std::optional<EngineStats> stats() const override { return engine_->stats(); }
    void shutdown(std::chrono::steady_clock::time_point deadline) override { engine_->shutdown(deadline); }

    // The chat prompt as text, before tokenization.
    std::string render_chat(const std::vector<chat::Message>& messages) const;
    const Engine& engine() const { return *engine_; }

private:
    // Classification requests (req.labels): see local_labels.cpp.
    std::unique_ptr<Generation> start_labels(GenerationRequest req, GenerationCallbacks cb, std::vector<int32_t> prompt);
    TokenLogprob token_logprob(const TokenInfo& t) const;
    TokenText token_text(int32_t id, float logprob) const;
    // The vocabulary trie of JSON mode, built on the first request that asks for it.
    std::shared_ptr<const JsonVocab> json_vocab() const;

    std::shared_ptr<const Model> model_;
    std::shared_ptr<const Tokenizer> tok_;
    std::unique_ptr<Engine> engine_;
    std::unique_ptr<chat::ChatTemplate> template_;
    std::string template_label_;
    std::string bos_text_, eos_text_;
    int64_t created_ = 0;
    mutable std::once_flag json_once_;
    mutable std::shared_ptr<const JsonVocab> json_vocab_;
};

// The router's finish reason for the engine's (shared by the plain and the label-constrained paths).
Finish to_finish(FinishReason r);

}  // namespace kinglet::router
