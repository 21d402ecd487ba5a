// The HTTP layer against a scripted provider (no model): status codes and error bodies, the SSE
// framing OpenAI clients parse, auth, loading and draining, and that a client going away cancels its
// generation. Real-model behaviour is covered by tests/e2e/serve_*.sh.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <thread>

#include "server/http_server.h"

namespace kinglet::server {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// Emits `words` one delta at a time (every `interval`), then finishes with `finish`; or, with
// `endless`, keeps emitting until cancelled. Records requests and cancellations.
class ScriptedProvider final : public router::Provider {
public:
    std::vector<std::string> words = {"Hello", ",", " world"};
    router::Finish finish = router::Finish::stop;
    bool endless = false;
    std::chrono::milliseconds interval{1};
    std::optional<Error> refuse;

    std::mutex mu;
    std::condition_variable cv;
    std::vector<router::GenerationRequest> requests;
    int cancels = 0, finished = 0;

    ~ScriptedProvider() override {
        for (auto& t : threads_) t.join();
    }

    router::ProviderInfo info() const override {
        router::ProviderInfo i;
        i.kind = "scripted";
        i.context_length = 128;
        i.embeddings = true;
        return i;
    }

    struct Gen final : router::Generation {
        std::atomic<bool> cancelled{false};
        ScriptedProvider* owner = nullptr;
        void cancel() override {
            if (cancelled.exchange(true)) return;
            std::lock_guard<std::mutex> lock(owner->mu);
            owner->cancels++;
            owner->cv.notify_all();
        }
    };

    std::unique_ptr<router::Generation> start(router::GenerationRequest req, router::GenerationCallbacks cb) override {
        if (refuse) throw *refuse;
        auto g = std::make_shared<Gen>();
        g->owner = this;
        {
            std::lock_guard<std::mutex> lock(mu);
            requests.push_back(req);
        }
        threads_.emplace_back([this, g, req, cb] {
            router::GenerationResult r;
            r.prompt_tokens = 7;
            if (req.kind == router::GenerationRequest::Kind::embedding) {
                r.embedding = {0.6f, 0.8f};
                r.prompt_tokens = 3;
            } else {
                for (size_t i = 0; endless || i < words.size(); ++i) {
                    if (g->cancelled) break;
                    std::this_thread::sleep_for(interval);
                    router::GenerationDelta d;
                    d.text = endless ? "x" : words[i];
                    if (req.logprobs >= 0) {
                        router::TokenLogprob t;
                        t.token = t.bytes = d.text;
                        t.logprob = -0.5f;
                        for (int k = 0; k < req.logprobs; ++k) t.top.push_back({d.text, d.text, -0.5f - k});
                        d.logprobs.push_back(t);
                        r.logprobs.push_back(t);
                    }
                    r.text += d.text;
                    r.completion_tokens++;
                    if (cb.on_delta && !cb.on_delta(std::move(d))) g->cancel();
                }
                r.finish = g->cancelled ? router::Finish::cancelled : finish;
            }
            {
                std::lock_guard<std::mutex> lock(mu);
                finished++;
            }
            cv.notify_all();
            cb.on_done(std::move(r));
        });
        struct Handle final : router::Generation {
            std::shared_ptr<Gen> g;
            void cancel() override { g->cancel(); }
        };
        auto h = std::make_unique<Handle>();
        h->g = g;
        return h;
    }

    bool wait_cancelled(std::chrono::seconds limit) {
        std::unique_lock<std::mutex> lock(mu);
        return cv.wait_for(lock, limit, [&] { return cancels > 0 && finished > 0; });
    }

private:
    std::vector<std::thread> threads_;
};

struct Fixture {
    std::shared_ptr<router::Registry> registry = std::make_shared<router::Registry>();
    std::shared_ptr<ScriptedProvider> provider = std::make_shared<ScriptedProvider>();
    std::unique_ptr<HttpServer> server;

    explicit Fixture(std::vector<std::string> keys = {}, bool ready = true, int64_t max_body = 1 << 20) {
        HttpOptions o;
        o.port = 0;
        o.threads = 8;
        o.max_body_bytes = max_body;
        server = std::make_unique<HttpServer>(o, registry, KeySet(keys));
        server->start();
        if (ready) {
            registry->add("tiny", provider);
            server->set_ready();
        }
    }
    ~Fixture() { server->stop(); }
    httplib::Client client() const {
        httplib::Client c("127.0.0.1", server->port());
        c.set_read_timeout(10);
        return c;
    }
};

json chat_body(json extra = json::object()) {
    json b = {{"model", "tiny"}, {"messages", {{{"role", "user"}, {"content", "Hi"}}}}};
    for (auto it = extra.begin(); it != extra.end(); ++it) b[it.key()] = it.value();
    return b;
}

// The JSON payloads of an SSE body, in order ("[DONE]" kept as a string).
std::vector<json> sse_events(const std::string& body) {
    std::vector<json> out;
    size_t pos = 0;
    while ((pos = body.find("data: ", pos)) != std::string::npos) {
        const size_t end = body.find("\n\n", pos);
        const std::string payload = body.substr(pos + 6, end - pos - 6);
        out.push_back(payload == "[DONE]" ? json("[DONE]") : json::parse(payload));
        pos = end;
    }
    return out;
}

void expect_error(const httplib::Result& r, int status, const char* code_or_param = nullptr) {
    ASSERT_TRUE(r) << "no response";
    EXPECT_EQ(r->status, status) << r->body;
    json b = json::parse(r->body);
    ASSERT_TRUE(b.contains("error")) << r->body;
    EXPECT_TRUE(b["error"]["message"].is_string());
    EXPECT_TRUE(b["error"]["type"].is_string());
    EXPECT_TRUE(b["error"].contains("param"));
    EXPECT_TRUE(b["error"].contains("code"));
    if (code_or_param) {
        const bool match = b["error"]["code"] == code_or_param || b["error"]["param"] == code_or_param;
        EXPECT_TRUE(match) << r->body;
    }
}

TEST(HttpServer, HealthIs503WhileLoadingThen200) {
    Fixture f({}, /*ready=*/false);
    auto c = f.client();
    auto r = c.Get("/health");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 503);
    EXPECT_EQ(r->get_header_value("Retry-After"), "5");
    auto chat = c.Post("/v1/chat/completions", chat_body().dump(), "application/json");
    expect_error(chat, 503, "loading");
    EXPECT_FALSE(chat->get_header_value("Retry-After").empty());
    f.registry->add("tiny", f.provider);
    f.server->set_ready();
    r = c.Get("/health");
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(json::parse(r->body)["status"], "ok");
}

TEST(HttpServer, ChatCompletionShape) {
    Fixture f;
    auto r = f.client().Post("/v1/chat/completions", chat_body().dump(), "application/json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
    json b = json::parse(r->body);
    EXPECT_EQ(b["object"], "chat.completion");
    EXPECT_EQ(b["model"], "tiny");
    EXPECT_EQ(b["id"].get<std::string>().rfind("chatcmpl-", 0), 0u);
    EXPECT_TRUE(b["created"].is_number_integer());
    ASSERT_EQ(b["choices"].size(), 1u);
    EXPECT_EQ(b["choices"][0]["index"], 0);
    EXPECT_EQ(b["choices"][0]["message"]["role"], "assistant");
    EXPECT_EQ(b["choices"][0]["message"]["content"], "Hello, world");
    EXPECT_EQ(b["choices"][0]["finish_reason"], "stop");
    EXPECT_TRUE(b["choices"][0]["logprobs"].is_null());
    EXPECT_EQ(b["usage"]["prompt_tokens"], 7);
    EXPECT_EQ(b["usage"]["completion_tokens"], 3);
    EXPECT_EQ(b["usage"]["total_tokens"], 10);
}

TEST(HttpServer, ModelMayBeOmittedWithOneModel) {
    Fixture f;
    json body = chat_body();
    body.erase("model");
    auto r = f.client().Post("/v1/chat/completions", body.dump(), "application/json");
    ASSERT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(json::parse(r->body)["model"], "tiny");
}

TEST(HttpServer, LengthFinishAndNChoicesWithSeeds) {
    Fixture f;
    f.provider->finish = router::Finish::length;
    auto r = f.client().Post("/v1/chat/completions", chat_body({{"n", 3}, {"seed", 10}}).dump(), "application/json");
    ASSERT_EQ(r->status, 200) << r->body;
    json b = json::parse(r->body);
    ASSERT_EQ(b["choices"].size(), 3u);
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(b["choices"][i]["index"], i);
        EXPECT_EQ(b["choices"][i]["finish_reason"], "length");
    }
    EXPECT_EQ(b["usage"]["prompt_tokens"], 7);       // one prompt, counted once
    EXPECT_EQ(b["usage"]["completion_tokens"], 9);   // 3 per choice
    std::set<uint64_t> seeds;
    for (const auto& q : f.provider->requests) seeds.insert(*q.seed);
    EXPECT_EQ(seeds, (std::set<uint64_t>{10, 11, 12}));
}

TEST(HttpServer, ChatStreamFraming) {
    Fixture f;
    auto r = f.client().Post("/v1/chat/completions",
                             chat_body({{"stream", true}, {"stream_options", {{"include_usage", true}}}}).dump(),
                             "application/json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(r->get_header_value("Content-Type"), "text/event-stream");
    auto ev = sse_events(r->body);
    ASSERT_GE(ev.size(), 6u) << r->body;
    EXPECT_EQ(ev.back(), "[DONE]");
    // First: the role; then content; then an empty delta with finish_reason; then usage (no choices).
    EXPECT_EQ(ev[0]["object"], "chat.completion.chunk");
    EXPECT_EQ(ev[0]["choices"][0]["delta"]["role"], "assistant");
    std::string text;
    for (size_t i = 0; i + 3 < ev.size(); ++i) {
        EXPECT_TRUE(ev[i]["usage"].is_null());
        EXPECT_TRUE(ev[i]["choices"][0]["finish_reason"].is_null());
        if (ev[i]["choices"][0]["delta"].contains("content")) text += ev[i]["choices"][0]["delta"]["content"];
    }
    EXPECT_EQ(text, "Hello, world");
    const json& last = ev[ev.size() - 3];
    EXPECT_EQ(last["choices"][0]["finish_reason"], "stop");
    EXPECT_TRUE(last["choices"][0]["delta"].empty());
    const json& usage = ev[ev.size() - 2];
    EXPECT_TRUE(usage["choices"].empty());
    EXPECT_EQ(usage["usage"]["completion_tokens"], 3);
    // Every chunk of one response shares its id.
    for (size_t i = 0; i + 1 < ev.size(); ++i) EXPECT_EQ(ev[i]["id"], ev[0]["id"]);
}

TEST(HttpServer, StreamWithoutUsageHasNoUsageField) {
    Fixture f;
    auto r = f.client().Post("/v1/chat/completions", chat_body({{"stream", true}}).dump(), "application/json");
    auto ev = sse_events(r->body);
    for (size_t i = 0; i + 1 < ev.size(); ++i) EXPECT_FALSE(ev[i].contains("usage")) << ev[i].dump();
}

TEST(HttpServer, ChatLogprobsShape) {
    Fixture f;
    auto r = f.client().Post("/v1/chat/completions", chat_body({{"logprobs", true}, {"top_logprobs", 2}}).dump(),
                             "application/json");
    ASSERT_EQ(r->status, 200) << r->body;
    json lp = json::parse(r->body)["choices"][0]["logprobs"];
    ASSERT_EQ(lp["content"].size(), 3u);
    EXPECT_EQ(lp["content"][0]["token"], "Hello");
    EXPECT_EQ(lp["content"][0]["bytes"], json({72, 101, 108, 108, 111}));
    EXPECT_FLOAT_EQ(lp["content"][0]["logprob"].get<float>(), -0.5f);
    EXPECT_EQ(lp["content"][0]["top_logprobs"].size(), 2u);
    EXPECT_TRUE(lp["refusal"].is_null());
}

TEST(HttpServer, CompletionsShapeEchoAndLegacyLogprobs) {
    Fixture f;
    auto r = f.client().Post("/v1/completions", json({{"model", "tiny"}, {"prompt", "Say"}, {"echo", true}}).dump(),
                             "application/json");
    ASSERT_EQ(r->status, 200) << r->body;
    json b = json::parse(r->body);
    EXPECT_EQ(b["object"], "text_completion");
    EXPECT_EQ(b["id"].get<std::string>().rfind("cmpl-", 0), 0u);
    EXPECT_EQ(b["choices"][0]["text"], "SayHello, world");

    r = f.client().Post("/v1/completions", json({{"model", "tiny"}, {"prompt", {"a", "b"}}, {"logprobs", 1}}).dump(),
                        "application/json");
    b = json::parse(r->body);
    ASSERT_EQ(b["choices"].size(), 2u);
    EXPECT_EQ(b["usage"]["prompt_tokens"], 14);  // two prompts
    const json& lp = b["choices"][1]["logprobs"];
    EXPECT_EQ(lp["tokens"], json({"Hello", ",", " world"}));
    EXPECT_EQ(lp["token_logprobs"].size(), 3u);
    EXPECT_EQ(lp["text_offset"], json({0, 5, 6}));
    EXPECT_TRUE(lp["top_logprobs"][0].contains("Hello"));
}

TEST(HttpServer, EmbeddingsFloatAndBase64) {
    Fixture f;
    auto r = f.client().Post("/v1/embeddings", json({{"model", "tiny"}, {"input", {"a", "b"}}}).dump(), "application/json");
    ASSERT_EQ(r->status, 200) << r->body;
    json b = json::parse(r->body);
    EXPECT_EQ(b["object"], "list");
    ASSERT_EQ(b["data"].size(), 2u);
    EXPECT_EQ(b["data"][1]["index"], 1);
    EXPECT_EQ(b["data"][1]["object"], "embedding");
    EXPECT_FLOAT_EQ(b["data"][0]["embedding"][0].get<float>(), 0.6f);
    EXPECT_EQ(b["usage"]["prompt_tokens"], 6);
    r = f.client().Post("/v1/embeddings", json({{"input", "a"}, {"encoding_format", "base64"}}).dump(), "application/json");
    // float32 0.6 = 0x3F19999A, 0.8 = 0x3F4CCCCD, little-endian: 9A 99 19 3F CD CC 4C 3F.
    EXPECT_EQ(json::parse(r->body)["data"][0]["embedding"], "mpkZP83MTD8=");
}

TEST(HttpServer, ErrorsAreOpenAIObjectsWithTheRightStatus) {
    Fixture f({}, true, /*max_body=*/4096);
    auto c = f.client();
    expect_error(c.Post("/v1/chat/completions", "{not json", "application/json"), 400, "invalid_json");
    expect_error(c.Post("/v1/chat/completions", "{\"messages\": \"\xff\"}", "application/json"), 400, "invalid_json");
    expect_error(c.Post("/v1/chat/completions", chat_body({{"temperature", "hot"}}).dump(), "application/json"), 400,
                 "temperature");
    expect_error(c.Post("/v1/chat/completions", chat_body({{"model", "nope"}}).dump(), "application/json"), 404,
                 "model_not_found");
    expect_error(c.Get("/v1/nothing"), 404, "unknown_url");
    expect_error(c.Get("/v1/models/nope"), 404, "model_not_found");
    expect_error(c.Post("/v1/chat/completions", std::string(10000, ' '), "application/json"), 413, "request_too_large");
    f.provider->refuse = Error(Errc::overloaded, "the request queue is full (64 waiting)");
    auto r = c.Post("/v1/chat/completions", chat_body().dump(), "application/json");
    expect_error(r, 429);
    EXPECT_EQ(r->get_header_value("Retry-After"), "1");
    f.provider->refuse = Error(Errc::invalid_argument, "the prompt is 900 tokens long but this model's context is 128");
    expect_error(c.Post("/v1/chat/completions", chat_body().dump(), "application/json"), 400);
    f.provider->refuse.reset();
    f.provider->finish = router::Finish::timeout;
    r = c.Post("/v1/chat/completions", chat_body().dump(), "application/json");
    expect_error(r, 504, "timeout");
    EXPECT_EQ(r->get_header_value("x-should-retry"), "false");
    // In a stream the failure arrives as an error event before [DONE].
    r = c.Post("/v1/chat/completions", chat_body({{"stream", true}}).dump(), "application/json");
    auto ev = sse_events(r->body);
    ASSERT_GE(ev.size(), 2u);
    EXPECT_EQ(ev[ev.size() - 2]["error"]["code"], "timeout");
}

TEST(HttpServer, ModelsList) {
    Fixture f;
    auto r = f.client().Get("/v1/models");
    json b = json::parse(r->body);
    EXPECT_EQ(b["object"], "list");
    ASSERT_EQ(b["data"].size(), 1u);
    EXPECT_EQ(b["data"][0]["id"], "tiny");
    EXPECT_EQ(b["data"][0]["object"], "model");
    EXPECT_EQ(b["data"][0]["max_model_len"], 128);
    r = f.client().Get("/v1/models/tiny");
    EXPECT_EQ(json::parse(r->body)["id"], "tiny");
}

TEST(HttpServer, ApiKeys) {
    Fixture f({"sk-right"});
    auto c = f.client();
    EXPECT_EQ(c.Get("/health")->status, 200);  // open
    expect_error(c.Get("/v1/models"), 401, "missing_api_key");
    httplib::Headers wrong = {{"Authorization", "Bearer sk-wrong"}};
    expect_error(c.Get("/v1/models", wrong), 401, "invalid_api_key");
    httplib::Headers right = {{"Authorization", "Bearer sk-right"}};
    EXPECT_EQ(c.Get("/v1/models", right)->status, 200);
    EXPECT_EQ(c.Post("/v1/chat/completions", right, chat_body().dump(), "application/json")->status, 200);
    ASSERT_EQ(f.provider->requests.size(), 1u);
    EXPECT_EQ(f.provider->requests[0].caller, "key-0");
}

TEST(HttpServer, DrainingRefusesNewRequests) {
    Fixture f;
    f.server->begin_drain();
    auto r = f.client().Post("/v1/chat/completions", chat_body().dump(), "application/json");
    expect_error(r, 503, "shutting_down");
    EXPECT_EQ(f.client().Get("/health")->status, 503);
}

TEST(HttpServer, MetricsCountRequests) {
    Fixture f;
    auto c = f.client();
    // Requests are counted after their response is written (the server's logger): on one keep-alive
    // connection the count of a request is in before the next request is read; on separate
    // connections /metrics could be served first.
    c.set_keep_alive(true);
    c.Post("/v1/chat/completions", chat_body().dump(), "application/json");
    c.Post("/v1/chat/completions", chat_body({{"n", 0}}).dump(), "application/json");
    auto r = c.Get("/metrics");
    ASSERT_EQ(r->status, 200);
    EXPECT_NE(r->body.find("kinglet_requests_total{endpoint=\"/v1/chat/completions\",status=\"200\"} 1"), std::string::npos)
        << r->body;
    EXPECT_NE(r->body.find("kinglet_requests_total{endpoint=\"/v1/chat/completions\",status=\"400\"} 1"), std::string::npos);
    EXPECT_NE(r->body.find("kinglet_completion_tokens_total{model=\"tiny\"} 3"), std::string::npos);
}

// A raw connection: send `request`, optionally read until `marker` appears, then close.
void send_and_hang_up(int port, const std::string& request, const std::string& marker) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(uint16_t(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(send(fd, request.data(), request.size(), 0), ssize_t(request.size()));
    std::string got;
    char buf[4096];
    while (!marker.empty() && got.find(marker) == std::string::npos) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        got.append(buf, size_t(n));
    }
    close(fd);
}

std::string http_post(const std::string& path, const std::string& body) {
    return "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
}

TEST(HttpServer, StreamingClientDisconnectCancelsTheGeneration) {
    Fixture f;
    f.provider->endless = true;
    send_and_hang_up(f.server->port(), http_post("/v1/chat/completions", chat_body({{"stream", true}}).dump()),
                     "\"content\":\"x\"");
    EXPECT_TRUE(f.provider->wait_cancelled(10s));
}

TEST(HttpServer, NonStreamingClientDisconnectCancelsTheGeneration) {
    Fixture f;
    f.provider->endless = true;
    send_and_hang_up(f.server->port(), http_post("/v1/chat/completions", chat_body().dump()), "");
    EXPECT_TRUE(f.provider->wait_cancelled(10s));
}

}  // namespace
}  // namespace kinglet::server
