// The OpenAI response shapes: chat.completion, chat.completion.chunk, text_completion (whole and
// streamed), embeddings lists, usage and the two logprobs layouts (chat's "content" list and the
// legacy completions' parallel arrays). Objects keep OpenAI's field order (id, object, created, model,
// choices, usage), so a person reading curl output sees what the API reference shows.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "router/provider.h"

namespace kinglet::server {

struct ResponseMeta {
    std::string id;       // "chatcmpl-..." / "cmpl-..."
    std::string model;    // the name the client asked for
    int64_t created = 0;  // Unix seconds
};

struct Usage {
    int prompt_tokens = 0;
    int completion_tokens = 0;
    int cached_tokens = 0;
};

struct ChoiceResult {
    int index = 0;
    std::string text;
    router::Finish finish = router::Finish::stop;
    bool with_logprobs = false;
    std::vector<router::TokenLogprob> logprobs;
};

// A fresh id with the given prefix ("chatcmpl-", "cmpl-").
std::string new_response_id(const char* prefix);
const char* finish_reason(router::Finish f);  // "stop" | "length"

nlohmann::ordered_json usage_json(const Usage& u);
nlohmann::ordered_json chat_logprobs_json(const std::vector<router::TokenLogprob>& lp);
// `offset` is where the first token's text starts (in code points), for text_offset.
nlohmann::ordered_json completion_logprobs_json(const std::vector<router::TokenLogprob>& lp, size_t offset);

nlohmann::ordered_json chat_completion_json(const ResponseMeta& m, const std::vector<ChoiceResult>& choices, const Usage& u);
nlohmann::ordered_json text_completion_json(const ResponseMeta& m, const std::vector<ChoiceResult>& choices, const Usage& u);

// Streaming: one chunk per delta. `role` adds the assistant role (first chunk of a choice);
// `finish` ends a choice; `usage` is null on every chunk when the client asked for usage, and absent
// otherwise (the final usage-only chunk has no choices).
nlohmann::ordered_json chat_chunk_json(const ResponseMeta& m, int index, const std::string* text, bool role,
                               const std::vector<router::TokenLogprob>* logprobs, std::optional<router::Finish> finish,
                               bool usage_null);
nlohmann::ordered_json text_chunk_json(const ResponseMeta& m, int index, const std::string& text,
                               const std::vector<router::TokenLogprob>* logprobs, size_t offset,
                               std::optional<router::Finish> finish, bool usage_null);
nlohmann::ordered_json usage_chunk_json(const ResponseMeta& m, const char* object, const Usage& u);

// The code-point length of UTF-8 text (text_offset counts characters, as Python does).
size_t code_points(std::string_view s);

}  // namespace kinglet::server
