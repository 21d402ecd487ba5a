// The OpenAI request schema: JSON bodies of /v1/chat/completions, /v1/completions, /v1/embeddings and
// the /tokenize and /detokenize extensions, parsed and validated into plain structs, then translated
// into the provider-level GenerationRequest. Nothing here runs a model.
//
// Rules (OpenAI's): unknown fields are ignored; `null` means "not given"; a field of the wrong type or
// out of range is an ApiError(400) whose `param` names it (e.g. "messages[1].content"); features that
// would otherwise be silently ignored (tools, response_format json, suffix, best_of > 1) are refused.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "chat/template.h"
#include "router/provider.h"

namespace kinglet::server {

struct RequestLimits {
    int max_n = 8;                  // choices per prompt (`n`)
    int max_prompts = 32;           // prompts in one /v1/completions request
    int max_embedding_inputs = 256; // inputs in one /v1/embeddings request
    int max_stop = 4;               // stop sequences
    int max_top_logprobs = 20;
};

// Fields chat and text completions share.
struct SamplingFields {
    std::optional<int> max_tokens;  // max_completion_tokens, else max_tokens
    float temperature = 1.0f;
    float top_p = 1.0f;
    int top_k = 0;
    float min_p = 0.0f;
    float presence_penalty = 0.0f;
    float frequency_penalty = 0.0f;
    std::optional<uint64_t> seed;
    std::map<int32_t, float> logit_bias;
    std::vector<std::string> stop;
    int n = 1;
    bool stream = false;
    bool include_usage = false;     // stream_options.include_usage
    bool json_object = false;       // response_format json_object or json_schema
    std::shared_ptr<const CompiledSchema> json_schema;  // json_schema, compiled
    std::string response_format;    // as sent (forwarded to remote providers)
};

struct ChatCompletionRequest {
    std::string model;              // "" when not given
    std::vector<chat::Message> messages;
    SamplingFields sampling;
    bool logprobs = false;
    int top_logprobs = 0;
};

// A prompt or embedding input: text, or token ids.
struct PromptInput {
    std::string text;
    std::vector<int32_t> tokens;
    bool is_tokens = false;
};

struct CompletionRequest {
    std::string model;
    std::vector<PromptInput> prompts;
    SamplingFields sampling;
    int logprobs = -1;              // -1: none
    bool echo = false;
};

struct EmbeddingRequest {
    std::string model;
    std::vector<PromptInput> inputs;
    bool base64 = false;            // encoding_format "base64"
    std::optional<int> dimensions;
};

struct TokenizeRequest {
    std::string model;
    bool chat = false;              // `messages` given: tokenize the rendered chat prompt
    std::string prompt;
    std::vector<chat::Message> messages;
    bool add_special = true;        // add BOS as the vocabulary asks (text prompts)
    bool with_pieces = false;
};

struct DetokenizeRequest {
    std::string model;
    std::vector<int32_t> tokens;
};

// Parses a request body; malformed JSON, invalid UTF-8 and non-object bodies are ApiError(400).
nlohmann::json parse_json_body(std::string_view body);

ChatCompletionRequest parse_chat_request(const nlohmann::json& body, const RequestLimits& limits);
CompletionRequest parse_completion_request(const nlohmann::json& body, const RequestLimits& limits);
EmbeddingRequest parse_embedding_request(const nlohmann::json& body, const RequestLimits& limits);
TokenizeRequest parse_tokenize_request(const nlohmann::json& body);
DetokenizeRequest parse_detokenize_request(const nlohmann::json& body);

// Provider requests. Choice `index` of `n` uses seed + index when a seed was given, so choices differ
// yet the whole response is reproducible.
router::GenerationRequest to_generation(const ChatCompletionRequest& r, int index);
router::GenerationRequest to_generation(const CompletionRequest& r, size_t prompt, int index);
router::GenerationRequest to_embedding(const EmbeddingRequest& r, size_t input);

}  // namespace kinglet::server
