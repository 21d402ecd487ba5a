// OpenAI request parsing and validation: shapes and limits from OpenAI's API reference, checked by
// hand-written bodies; every rejected field must be named in `param`.
#include <gtest/gtest.h>

#include "server/api_error.h"
#include "server/openai_request.h"

namespace kinglet::server {
namespace {

using nlohmann::json;

RequestLimits limits() { return RequestLimits{}; }

// The param of the 400 a body is rejected with ("" if accepted, "<other>" for other statuses).
std::string rejected_param(const std::function<void()>& f) {
    try {
        f();
    } catch (const ApiError& e) {
        if (e.status() != 400) return "<status " + std::to_string(e.status()) + ">";
        return e.param().empty() ? "<none>" : e.param();
    }
    return "";
}

std::string chat_param(json body) {
    return rejected_param([&] { parse_chat_request(body, limits()); });
}
std::string completion_param(json body) {
    return rejected_param([&] { parse_completion_request(body, limits()); });
}

json chat(json extra = json::object()) {
    json b = {{"model", "m"}, {"messages", {{{"role", "user"}, {"content", "Hi"}}}}};
    for (auto it = extra.begin(); it != extra.end(); ++it) b[it.key()] = it.value();
    return b;
}

TEST(OpenAIRequest, MinimalChatHasOpenAIDefaults) {
    auto r = parse_chat_request(chat(), limits());
    EXPECT_EQ(r.model, "m");
    ASSERT_EQ(r.messages.size(), 1u);
    EXPECT_EQ(r.messages[0].role, "user");
    EXPECT_EQ(r.messages[0].content, "Hi");
    EXPECT_FLOAT_EQ(r.sampling.temperature, 1.0f);
    EXPECT_FLOAT_EQ(r.sampling.top_p, 1.0f);
    EXPECT_EQ(r.sampling.top_k, 0);
    EXPECT_EQ(r.sampling.n, 1);
    EXPECT_FALSE(r.sampling.stream);
    EXPECT_FALSE(r.sampling.max_tokens.has_value());
    EXPECT_FALSE(r.sampling.seed.has_value());
    EXPECT_FALSE(r.logprobs);
}

TEST(OpenAIRequest, AllSamplingFieldsAreRead) {
    auto r = parse_chat_request(chat({{"max_tokens", 7}, {"temperature", 0}, {"top_p", 0.5}, {"top_k", 3},
                                      {"min_p", 0.1}, {"presence_penalty", -1.5}, {"frequency_penalty", 2},
                                      {"seed", -1}, {"stop", "END"}, {"n", 3}, {"stream", true},
                                      {"stream_options", {{"include_usage", true}}}, {"logprobs", true},
                                      {"top_logprobs", 5}, {"logit_bias", {{"42", -100}, {"7", 2.5}}}}),
                                limits());
    EXPECT_EQ(*r.sampling.max_tokens, 7);
    EXPECT_FLOAT_EQ(r.sampling.temperature, 0.0f);
    EXPECT_FLOAT_EQ(r.sampling.top_p, 0.5f);
    EXPECT_EQ(r.sampling.top_k, 3);
    EXPECT_FLOAT_EQ(r.sampling.min_p, 0.1f);
    EXPECT_FLOAT_EQ(r.sampling.presence_penalty, -1.5f);
    EXPECT_FLOAT_EQ(r.sampling.frequency_penalty, 2.0f);
    EXPECT_EQ(*r.sampling.seed, ~uint64_t(0));  // -1 as an unsigned 64-bit seed
    EXPECT_EQ(r.sampling.stop, std::vector<std::string>{"END"});
    EXPECT_EQ(r.sampling.n, 3);
    EXPECT_TRUE(r.sampling.stream);
    EXPECT_TRUE(r.sampling.include_usage);
    EXPECT_TRUE(r.logprobs);
    EXPECT_EQ(r.top_logprobs, 5);
    EXPECT_EQ(r.sampling.logit_bias.size(), 2u);
    EXPECT_FLOAT_EQ(r.sampling.logit_bias.at(42), -100.0f);
    EXPECT_FLOAT_EQ(r.sampling.logit_bias.at(7), 2.5f);
}

TEST(OpenAIRequest, MaxCompletionTokensWinsOverMaxTokens) {
    auto r = parse_chat_request(chat({{"max_tokens", 7}, {"max_completion_tokens", 9}}), limits());
    EXPECT_EQ(*r.sampling.max_tokens, 9);
}

TEST(OpenAIRequest, NullMeansNotGivenAndUnknownFieldsAreIgnored) {
    auto r = parse_chat_request(chat({{"temperature", nullptr}, {"stop", nullptr}, {"user", "u1"},
                                      {"metadata", {{"x", 1}}}, {"some_future_field", {1, 2, 3}}}),
                                limits());
    EXPECT_FLOAT_EQ(r.sampling.temperature, 1.0f);
    EXPECT_TRUE(r.sampling.stop.empty());
}

TEST(OpenAIRequest, ContentPartsAreJoinedWithNewlines) {
    json b = chat();
    b["messages"] = {{{"role", "system"}, {"content", "Be brief."}},
                     {{"role", "user"},
                      {"content", {{{"type", "text"}, {"text", "one"}}, {{"type", "text"}, {"text", "two"}}}}}};
    auto r = parse_chat_request(b, limits());
    ASSERT_EQ(r.messages.size(), 2u);
    EXPECT_EQ(r.messages[0].content, "Be brief.");
    EXPECT_EQ(r.messages[1].content, "one\ntwo");
}

TEST(OpenAIRequest, DeveloperRoleIsSystemAndAssistantMayOmitContent) {
    json b = chat();
    b["messages"] = {{{"role", "developer"}, {"content", "rules"}},
                     {{"role", "user"}, {"content", "q"}},
                     {{"role", "assistant"}, {"content", nullptr}},
                     {{"role", "user"}, {"content", "q2"}, {"name", "bob"}}};
    auto r = parse_chat_request(b, limits());
    EXPECT_EQ(r.messages[0].role, "system");
    EXPECT_EQ(r.messages[2].content, "");
    EXPECT_EQ(r.messages[3].extra.at("name"), "bob");
}

TEST(OpenAIRequest, WrongTypesAndRangesNameTheParam) {
    EXPECT_EQ(chat_param(chat({{"temperature", "hot"}})), "temperature");
    EXPECT_EQ(chat_param(chat({{"temperature", 2.5}})), "temperature");
    EXPECT_EQ(chat_param(chat({{"top_p", -0.1}})), "top_p");
    EXPECT_EQ(chat_param(chat({{"presence_penalty", 3}})), "presence_penalty");
    EXPECT_EQ(chat_param(chat({{"max_tokens", 0}})), "max_tokens");
    EXPECT_EQ(chat_param(chat({{"max_tokens", "10"}})), "max_tokens");
    EXPECT_EQ(chat_param(chat({{"max_tokens", 2.5}})), "max_tokens");
    EXPECT_EQ(chat_param(chat({{"n", 0}})), "n");
    EXPECT_EQ(chat_param(chat({{"n", 9}})), "n");  // default bound 8
    EXPECT_EQ(chat_param(chat({{"stream", "yes"}})), "stream");
    EXPECT_EQ(chat_param(chat({{"seed", 1.5}})), "seed");
    EXPECT_EQ(chat_param(chat({{"stop", 5}})), "stop");
    EXPECT_EQ(chat_param(chat({{"stop", {"a", 1}}})), "stop[1]");
    EXPECT_EQ(chat_param(chat({{"stop", {"a", "b", "c", "d", "e"}}})), "stop");
    EXPECT_EQ(chat_param(chat({{"logit_bias", {{"abc", 1}}}})), "logit_bias");
    EXPECT_EQ(chat_param(chat({{"logit_bias", {{"-3", 1}}}})), "logit_bias");
    EXPECT_EQ(chat_param(chat({{"logit_bias", {{"5", 101}}}})), "logit_bias.5");
    EXPECT_EQ(chat_param(chat({{"logit_bias", {{"5", "x"}}}})), "logit_bias.5");
    EXPECT_EQ(chat_param(chat({{"logprobs", 1}})), "logprobs");
    EXPECT_EQ(chat_param(chat({{"top_logprobs", 3}})), "top_logprobs");  // needs logprobs: true
    EXPECT_EQ(chat_param(chat({{"logprobs", true}, {"top_logprobs", 21}})), "top_logprobs");
    EXPECT_EQ(chat_param(chat({{"stream_options", {{"include_usage", true}}}})), "stream_options");
    EXPECT_EQ(chat_param(chat({{"model", 3}})), "model");
}

TEST(OpenAIRequest, IntegralFloatsAreIntegers) {
    auto r = parse_chat_request(chat({{"n", 2.0}, {"max_tokens", 5.0}}), limits());
    EXPECT_EQ(r.sampling.n, 2);
    EXPECT_EQ(*r.sampling.max_tokens, 5);
}

TEST(OpenAIRequest, BadMessagesNameTheField) {
    EXPECT_EQ(chat_param({{"model", "m"}}), "messages");
    EXPECT_EQ(chat_param({{"messages", "hi"}}), "messages");
    EXPECT_EQ(chat_param({{"messages", json::array()}}), "messages");
    EXPECT_EQ(chat_param({{"messages", {1}}}), "messages[0]");
    EXPECT_EQ(chat_param({{"messages", {{{"content", "x"}}}}}), "messages[0].role");
    EXPECT_EQ(chat_param({{"messages", {{{"role", "wizard"}, {"content", "x"}}}}}), "messages[0].role");
    EXPECT_EQ(chat_param({{"messages", {{{"role", "user"}}}}}), "messages[0].content");
    EXPECT_EQ(chat_param({{"messages", {{{"role", "user"}, {"content", 5}}}}}), "messages[0].content");
    EXPECT_EQ(chat_param({{"messages", {{{"role", "user"}, {"content", {{{"type", "image_url"}}}}}}}}),
              "messages[0].content[0].type");
    EXPECT_EQ(chat_param({{"messages", {{{"role", "user"}, {"content", {{{"type", "text"}}}}}}}}),
              "messages[0].content[0].text");
}

TEST(OpenAIRequest, FeaturesThatWouldBeSilentlyIgnoredAreRefused) {
    EXPECT_EQ(chat_param(chat({{"tools", {{{"type", "function"}}}}})), "tools");
    EXPECT_EQ(chat_param(chat({{"tools", {{{"type", "function"}}}}, {"tool_choice", "none"}})), "");
    EXPECT_EQ(chat_param(chat({{"response_format", {{"type", "json_schema"}}}})), "response_format.json_schema");
    EXPECT_EQ(chat_param(chat({{"response_format",
                                {{"type", "json_schema"},
                                 {"json_schema", {{"name", "x"}, {"schema", {{"type", "string"}, {"pattern", "^a"}}}}}}}})),
              "response_format.json_schema.schema");
    const nlohmann::json schema_rf = {
        {"type", "json_schema"},
        {"json_schema", {{"name", "x"}, {"strict", true}, {"schema", {{"type", "object"}, {"properties", {{"a", {{"type", "integer"}}}}}}}}}};
    EXPECT_EQ(chat_param(chat({{"response_format", schema_rf}})), "");
    const auto parsed = parse_chat_request(chat({{"response_format", schema_rf}}), limits());
    ASSERT_TRUE(parsed.sampling.json_schema);
    EXPECT_TRUE(parsed.sampling.json_object);
    EXPECT_EQ(nlohmann::json::parse(parsed.sampling.response_format), schema_rf);  // forwarded as sent
    EXPECT_EQ(chat_param(chat({{"response_format", {{"type", "yaml"}}}})), "response_format.type");
    EXPECT_EQ(chat_param(chat({{"response_format", "json_object"}})), "response_format");
    EXPECT_EQ(chat_param(chat({{"response_format", {{"type", "text"}}}})), "");
    EXPECT_EQ(chat_param(chat({{"response_format", {{"type", "json_object"}}}})), "");
    EXPECT_TRUE(parse_chat_request(chat({{"response_format", {{"type", "json_object"}}}}), limits()).sampling.json_object);
    EXPECT_FALSE(parse_chat_request(chat({{"response_format", {{"type", "text"}}}}), limits()).sampling.json_object);
    EXPECT_EQ(completion_param({{"prompt", "x"}, {"best_of", 2}}), "best_of");
    EXPECT_EQ(completion_param({{"prompt", "x"}, {"suffix", "tail"}}), "suffix");
    EXPECT_EQ(completion_param({{"prompt", "x"}, {"echo", true}, {"logprobs", 1}}), "echo");
}

TEST(OpenAIRequest, CompletionPromptForms) {
    auto one = parse_completion_request({{"prompt", "Once"}}, limits());
    ASSERT_EQ(one.prompts.size(), 1u);
    EXPECT_EQ(one.prompts[0].text, "Once");
    EXPECT_FALSE(one.prompts[0].is_tokens);

    auto texts = parse_completion_request({{"prompt", {"a", "b"}}}, limits());
    ASSERT_EQ(texts.prompts.size(), 2u);
    EXPECT_EQ(texts.prompts[1].text, "b");

    auto ids = parse_completion_request({{"prompt", {1, 403, 407}}}, limits());
    ASSERT_EQ(ids.prompts.size(), 1u);
    EXPECT_TRUE(ids.prompts[0].is_tokens);
    EXPECT_EQ(ids.prompts[0].tokens, (std::vector<int32_t>{1, 403, 407}));

    auto nested = parse_completion_request({{"prompt", {{1, 2}, {3}}}}, limits());
    ASSERT_EQ(nested.prompts.size(), 2u);
    EXPECT_EQ(nested.prompts[1].tokens, std::vector<int32_t>{3});

    EXPECT_EQ(completion_param({{"model", "m"}}), "prompt");
    EXPECT_EQ(completion_param({{"prompt", json::array()}}), "prompt");
    EXPECT_EQ(completion_param({{"prompt", {1, -2}}}), "prompt[1]");
    EXPECT_EQ(completion_param({{"prompt", {{1}, json::array()}}}), "prompt[1]");
    EXPECT_EQ(completion_param({{"prompt", {"a", 3.5}}}), "prompt[1]");
    EXPECT_EQ(completion_param({{"prompt", 12}}), "prompt");
    EXPECT_EQ(completion_param({{"prompt", "x"}, {"logprobs", true}}), "logprobs");
    EXPECT_EQ(completion_param({{"prompt", "x"}, {"max_tokens", 0}}), "");  // 0 is allowed for completions
}

TEST(OpenAIRequest, CompletionLogprobsAndEcho) {
    auto r = parse_completion_request({{"prompt", "x"}, {"logprobs", 3}, {"max_tokens", 16}}, limits());
    EXPECT_EQ(r.logprobs, 3);
    auto e = parse_completion_request({{"prompt", "x"}, {"echo", true}}, limits());
    EXPECT_TRUE(e.echo);
    EXPECT_EQ(e.logprobs, -1);
}

TEST(OpenAIRequest, Embeddings) {
    auto r = parse_embedding_request({{"model", "e"}, {"input", {"a", "b"}}, {"encoding_format", "base64"}}, limits());
    EXPECT_EQ(r.inputs.size(), 2u);
    EXPECT_TRUE(r.base64);
    EXPECT_EQ(rejected_param([] { parse_embedding_request({{"input", "a"}, {"encoding_format", "hex"}}, limits()); }),
              "encoding_format");
    EXPECT_EQ(rejected_param([] { parse_embedding_request({{"model", "e"}}, limits()); }), "input");
    EXPECT_EQ(rejected_param([] { parse_embedding_request({{"input", "a"}, {"dimensions", 0}}, limits()); }), "dimensions");
}

TEST(OpenAIRequest, TokenizeAndDetokenize) {
    auto t = parse_tokenize_request({{"prompt", "hi"}, {"add_special_tokens", false}});
    EXPECT_FALSE(t.chat);
    EXPECT_EQ(t.prompt, "hi");
    EXPECT_FALSE(t.add_special);
    auto c = parse_tokenize_request({{"messages", {{{"role", "user"}, {"content", "x"}}}}});
    EXPECT_TRUE(c.chat);
    EXPECT_EQ(rejected_param([] { parse_tokenize_request(json::object()); }), "prompt");
    auto d = parse_detokenize_request({{"tokens", {1, 2}}});
    EXPECT_EQ(d.tokens, (std::vector<int32_t>{1, 2}));
    EXPECT_EQ(rejected_param([] { parse_detokenize_request({{"tokens", "12"}}); }), "tokens");
    EXPECT_EQ(rejected_param([] { parse_detokenize_request({{"tokens", {1, "2"}}}); }), "tokens[1]");
}

TEST(OpenAIRequest, MalformedBodiesAre400) {
    auto status = [](std::string_view body) {
        try {
            parse_json_body(body);
        } catch (const ApiError& e) {
            return e.status();
        }
        return 200;
    };
    EXPECT_EQ(status("{\"model\": \"m\"}"), 200);
    EXPECT_EQ(status(""), 400);
    EXPECT_EQ(status("{"), 400);
    EXPECT_EQ(status("{} trailing"), 400);
    EXPECT_EQ(status("[1, 2]"), 400);
    EXPECT_EQ(status("\"text\""), 400);
    EXPECT_EQ(status("{\"a\": \"\xff\xfe\"}"), 400);          // invalid UTF-8 inside a string
    EXPECT_EQ(status("{\"a\": \"\xc3\"}"), 400);              // truncated sequence
    EXPECT_EQ(status("{\"a\": \"\xed\xa0\x80\"}"), 400);      // an encoded surrogate
    EXPECT_EQ(status("{\"a\": \"\\ud800\"}"), 400);           // a lone escaped surrogate
    EXPECT_EQ(status("{\"a\": \"\\ud83d\\ude00\"}"), 200);    // a valid escaped pair
}

TEST(OpenAIRequest, GenerationRequestsDifferBySeedPerChoice) {
    auto r = parse_chat_request(chat({{"seed", 100}, {"n", 2}, {"logprobs", true}, {"top_logprobs", 2}}), limits());
    auto g0 = to_generation(r, 0), g1 = to_generation(r, 1);
    EXPECT_EQ(*g0.seed, 100u);
    EXPECT_EQ(*g1.seed, 101u);
    EXPECT_EQ(g0.logprobs, 2);
    EXPECT_EQ(g0.kind, router::GenerationRequest::Kind::chat);
    auto noseed = to_generation(parse_chat_request(chat(), limits()), 1);
    EXPECT_FALSE(noseed.seed.has_value());
    EXPECT_EQ(noseed.logprobs, -1);

    auto c = parse_completion_request({{"prompt", {{5, 6}, {7}}}, {"logprobs", 0}}, limits());
    auto t = to_generation(c, 1, 0);
    EXPECT_EQ(t.prompt_tokens, std::vector<int32_t>{7});
    EXPECT_EQ(t.logprobs, 0);
    EXPECT_FALSE(t.max_tokens.has_value());
    EXPECT_EQ(t.default_max_tokens, 16);  // OpenAI's completions default
    EXPECT_EQ(g0.default_max_tokens, 0);  // chat: until the context is full
}

TEST(ApiErrorShape, MatchesOpenAIErrorObject) {
    ApiError e(400, "bad", "temperature");
    json b = e.body();
    EXPECT_EQ(b["error"]["message"], "bad");
    EXPECT_EQ(b["error"]["type"], "invalid_request_error");
    EXPECT_EQ(b["error"]["param"], "temperature");
    EXPECT_TRUE(b["error"]["code"].is_null());
    EXPECT_EQ(to_api_error(Error(Errc::overloaded, "full")).status(), 429);
    EXPECT_EQ(to_api_error(Error(Errc::overloaded, "full")).retry_after(), 1);
    EXPECT_EQ(to_api_error(Error(Errc::invalid_argument, "x")).status(), 400);
    EXPECT_EQ(to_api_error(Error(Errc::not_found, "x")).status(), 404);
    EXPECT_EQ(to_api_error(Error(Errc::internal, "x")).status(), 500);
}

}  // namespace
}  // namespace kinglet::server
