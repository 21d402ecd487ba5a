#include "server/openai_response.h"

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <random>

namespace kinglet::server {

using json = nlohmann::ordered_json;

std::string new_response_id(const char* prefix) {
    static std::atomic<uint64_t> counter{0};
    static const uint64_t salt = std::random_device{}() * 0x9E3779B97F4A7C15ull ^ uint64_t(
        std::chrono::steady_clock::now().time_since_epoch().count());
    const uint64_t n = counter.fetch_add(1) + 1;
    return fmt::format("{}{:016x}{:08x}", prefix, salt, n);
}

const char* finish_reason(router::Finish f) { return f == router::Finish::length ? "length" : "stop"; }

json usage_json(const Usage& u) {
    return {
        {"prompt_tokens", u.prompt_tokens},
        {"completion_tokens", u.completion_tokens},
        {"total_tokens", u.prompt_tokens + u.completion_tokens},
        {"prompt_tokens_details", {{"cached_tokens", u.cached_tokens}}},
    };
}

namespace {

json bytes_json(const std::string& b) {
    json a = json::array();
    for (unsigned char c : b) a.push_back(int(c));
    return a;
}

json token_json(const router::TokenText& t) {
    return {{"token", t.token}, {"logprob", t.logprob}, {"bytes", bytes_json(t.bytes)}};
}

json meta_json(const ResponseMeta& m, const char* object) {
    return {{"id", m.id}, {"object", object}, {"created", m.created}, {"model", m.model},
            {"system_fingerprint", "kinglet"}};
}

}  // namespace

size_t code_points(std::string_view s) {
    size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
}

json chat_logprobs_json(const std::vector<router::TokenLogprob>& lp) {
    json content = json::array();
    for (const auto& t : lp) {
        json e = token_json(t);
        json top = json::array();
        for (const auto& alt : t.top) top.push_back(token_json(alt));
        e["top_logprobs"] = std::move(top);
        content.push_back(std::move(e));
    }
    return {{"content", std::move(content)}, {"refusal", nullptr}};
}

json completion_logprobs_json(const std::vector<router::TokenLogprob>& lp, size_t offset) {
    json tokens = json::array(), token_logprobs = json::array(), top = json::array(), offsets = json::array();
    for (const auto& t : lp) {
        tokens.push_back(t.token);
        token_logprobs.push_back(t.logprob);
        // The k most likely tokens and, as OpenAI documents, the sampled one (so up to k + 1 entries).
        json alts = json::object();
        for (const auto& alt : t.top) alts[alt.token] = alt.logprob;
        if (!alts.contains(t.token)) alts[t.token] = t.logprob;
        top.push_back(std::move(alts));
        offsets.push_back(offset);
        offset += code_points(t.token);
    }
    return {{"tokens", std::move(tokens)}, {"token_logprobs", std::move(token_logprobs)},
            {"top_logprobs", std::move(top)}, {"text_offset", std::move(offsets)}};
}

json chat_completion_json(const ResponseMeta& m, const std::vector<ChoiceResult>& choices, const Usage& u) {
    json j = meta_json(m, "chat.completion");
    json list = json::array();
    for (const auto& c : choices) {
        list.push_back({
            {"index", c.index},
            {"message", {{"role", "assistant"}, {"content", c.text}, {"refusal", nullptr}}},
            {"logprobs", c.with_logprobs ? chat_logprobs_json(c.logprobs) : json(nullptr)},
            {"finish_reason", finish_reason(c.finish)},
        });
    }
    j["choices"] = std::move(list);
    j["usage"] = usage_json(u);
    return j;
}

json text_completion_json(const ResponseMeta& m, const std::vector<ChoiceResult>& choices, const Usage& u) {
    json j = meta_json(m, "text_completion");
    json list = json::array();
    for (const auto& c : choices) {
        list.push_back({
            {"index", c.index},
            {"text", c.text},
            {"logprobs", c.with_logprobs ? completion_logprobs_json(c.logprobs, 0) : json(nullptr)},
            {"finish_reason", finish_reason(c.finish)},
        });
    }
    j["choices"] = std::move(list);
    j["usage"] = usage_json(u);
    return j;
}

json chat_chunk_json(const ResponseMeta& m, int index, const std::string* text, bool role,
                     const std::vector<router::TokenLogprob>* logprobs, std::optional<router::Finish> finish,
                     bool usage_null) {
    json j = meta_json(m, "chat.completion.chunk");
    json delta = json::object();
    if (role) delta["role"] = "assistant";
    if (text) delta["content"] = *text;
    json choice = {{"index", index}, {"delta", std::move(delta)},
                   {"logprobs", logprobs ? chat_logprobs_json(*logprobs) : json(nullptr)},
                   {"finish_reason", finish ? json(finish_reason(*finish)) : json(nullptr)}};
    j["choices"] = json::array({std::move(choice)});
    if (usage_null) j["usage"] = nullptr;
    return j;
}

json text_chunk_json(const ResponseMeta& m, int index, const std::string& text,
                     const std::vector<router::TokenLogprob>* logprobs, size_t offset,
                     std::optional<router::Finish> finish, bool usage_null) {
    json j = meta_json(m, "text_completion");
    json choice = {{"index", index}, {"text", text},
                   {"logprobs", logprobs ? completion_logprobs_json(*logprobs, offset) : json(nullptr)},
                   {"finish_reason", finish ? json(finish_reason(*finish)) : json(nullptr)}};
    j["choices"] = json::array({std::move(choice)});
    if (usage_null) j["usage"] = nullptr;
    return j;
}

json usage_chunk_json(const ResponseMeta& m, const char* object, const Usage& u) {
    json j = meta_json(m, object);
    j["choices"] = json::array();
    j["usage"] = usage_json(u);
    return j;
}

}  // namespace kinglet::server
