// The remote provider against a local cpp-httplib server scripted per test: streamed deltas and the
// remote's usage, the request it sends, retries on 429/5xx/time-outs/refused connections (bounded,
// never after a delta was passed on), and errors that are not retried.
#include <gtest/gtest.h>
#include <httplib.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <optional>
#include <thread>

#include <nlohmann/json.hpp>

#include "router/remote_provider.h"

namespace kinglet::router {
namespace {

using nlohmann::json;

class Remote {
public:
    explicit Remote(std::function<void(const httplib::Request&, httplib::Response&, int call)> h) : handler_(std::move(h)) {
        server_.Post("/v1/chat/completions", [this](const httplib::Request& q, httplib::Response& r) {
            const int n = calls++;
            {
                std::lock_guard<std::mutex> lock(mu_);
                bodies.push_back(q.body);
                auth.push_back(q.get_header_value("Authorization"));
            }
            handler_(q, r, n);
        });
        port = server_.bind_to_any_port("127.0.0.1");
        thread_ = std::thread([this] { server_.listen_after_bind(); });
        while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ~Remote() {
        server_.stop();
        thread_.join();
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port) + "/v1"; }
    std::atomic<int> calls{0};
    std::vector<std::string> bodies, auth;
    int port = 0;

private:
    std::function<void(const httplib::Request&, httplib::Response&, int)> handler_;
    httplib::Server server_;
    std::thread thread_;
    std::mutex mu_;
};

std::string chunk(const std::string& text, const char* finish = nullptr) {
    json c = {{"id", "x"}, {"object", "chat.completion.chunk"},
              {"choices", json::array({{{"index", 0}, {"delta", {{"content", text}}},
                                        {"finish_reason", finish ? json(finish) : json(nullptr)},
                                        {"logprobs", {{"content", json::array({{{"token", text}, {"logprob", -0.25}, {"bytes", json::array()}, {"top_logprobs", json::array()}}})}}}}})}};
    return "data: " + c.dump() + "\n\n";
}

std::string good_stream() {
    json usage = {{"id", "x"}, {"choices", json::array()}, {"usage", {{"prompt_tokens", 11}, {"completion_tokens", 2}}}};
    return chunk("Hel") + chunk("lo", "stop") + "data: " + usage.dump() + "\n\ndata: [DONE]\n\n";
}

struct Call {
    GenerationResult result;
    std::vector<std::string> deltas;
};

Call generate(RemoteProvider& p, bool stream, int logprobs = -1, bool json_object = false) {
    GenerationRequest req;
    req.messages = {{"user", "hi", {}}};
    req.max_tokens = 7;
    req.logprobs = logprobs;
    req.json_object = json_object;
    std::promise<GenerationResult> done;
    Call run;
    GenerationCallbacks cb;
    if (stream)
        cb.on_delta = [&](GenerationDelta&& d) {
            run.deltas.push_back(d.text);
            return true;
        };
    cb.on_done = [&](GenerationResult&& r) { done.set_value(std::move(r)); };
    auto g = p.start(std::move(req), std::move(cb));
    run.result = done.get_future().get();
    return run;
}

std::shared_ptr<RemoteProvider> provider(const std::string& url, double timeout = 10, int retries = 2) {
    RemoteOptions o;
    o.name = "large";
    o.base_url = url;
    o.api_key = "sk-test";
    o.model = "frontier";
    o.timeout_s = timeout;
    o.max_retries = retries;
    o.retry_base_s = 0.01;
    o.retry_max_s = 0.05;
    return std::make_shared<RemoteProvider>(o);
}

TEST(RemoteProvider, StreamsDeltasAndTakesUsageFromTheRemote) {
    Remote r([](const httplib::Request&, httplib::Response& res, int) { res.set_content(good_stream(), "text/event-stream"); });
    auto p = provider(r.url());
    Call run = generate(*p, true, 0);
    EXPECT_EQ(run.result.finish, Finish::stop);
    EXPECT_EQ(run.result.text, "Hello");
    EXPECT_EQ(run.deltas, (std::vector<std::string>{"Hel", "lo"}));
    EXPECT_EQ(run.result.prompt_tokens, 11);
    EXPECT_EQ(run.result.completion_tokens, 2);
    ASSERT_EQ(run.result.logprobs.size(), 2u);
    EXPECT_FLOAT_EQ(run.result.logprobs[0].logprob, -0.25f);
    const json sent = json::parse(r.bodies.at(0));
    EXPECT_EQ(sent["model"], "frontier");
    EXPECT_EQ(sent["stream"], true);
    EXPECT_EQ(sent["stream_options"]["include_usage"], true);
    EXPECT_EQ(sent["logprobs"], true);
    EXPECT_EQ(sent["max_tokens"], 7);
    EXPECT_EQ(sent["messages"][0]["content"], "hi");
    EXPECT_EQ(r.auth.at(0), "Bearer sk-test");
    EXPECT_FALSE(sent.contains("response_format"));
    // The connection is reused: a second call works on the pooled handle.
    EXPECT_EQ(generate(*p, false).result.text, "Hello");
}

TEST(RemoteProvider, ForwardsJsonMode) {
    Remote r([](const httplib::Request&, httplib::Response& res, int) { res.set_content(good_stream(), "text/event-stream"); });
    auto p = provider(r.url());
    generate(*p, true, -1, /*json_object=*/true);
    const json sent = json::parse(r.bodies.at(0));
    EXPECT_EQ(sent["response_format"], json({{"type", "json_object"}}));
}

TEST(RemoteProvider, RetriesRateLimitsAndServerErrors) {
    Remote r([](const httplib::Request&, httplib::Response& res, int call) {
        if (call == 0) {
            res.status = 429;
            res.set_header("Retry-After", "0");
            res.set_content(R"({"error":{"message":"slow down"}})", "application/json");
        } else if (call == 1) {
            res.status = 503;
            res.set_content("busy", "text/plain");
        } else {
            res.set_content(good_stream(), "text/event-stream");
        }
    });
    auto p = provider(r.url());
    Call run = generate(*p, true);
    EXPECT_EQ(run.result.finish, Finish::stop);
    EXPECT_EQ(run.result.text, "Hello");
    EXPECT_EQ(r.calls.load(), 3);
}

TEST(RemoteProvider, GivesUpAfterMaxRetries) {
    Remote r([](const httplib::Request&, httplib::Response& res, int) {
        res.status = 500;
        res.set_content(R"({"error":{"message":"boom"}})", "application/json");
    });
    auto p = provider(r.url(), 10, 2);
    Call run = generate(*p, false);
    EXPECT_EQ(run.result.finish, Finish::error);
    EXPECT_EQ(run.result.http_status, 502);
    EXPECT_NE(run.result.error.find("HTTP 500"), std::string::npos) << run.result.error;
    EXPECT_NE(run.result.error.find("boom"), std::string::npos) << run.result.error;
    EXPECT_EQ(r.calls.load(), 3);
}

TEST(RemoteProvider, ClientErrorsAreNotRetried) {
    Remote r([](const httplib::Request&, httplib::Response& res, int) {
        res.status = 400;
        res.set_content(R"({"error":{"message":"context too long"}})", "application/json");
    });
    auto p = provider(r.url());
    Call run = generate(*p, false);
    EXPECT_EQ(run.result.finish, Finish::error);
    EXPECT_EQ(run.result.http_status, 400);
    EXPECT_EQ(r.calls.load(), 1);
}

TEST(RemoteProvider, TimesOut) {
    Remote r([](const httplib::Request&, httplib::Response& res, int) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1500));
        res.set_content(good_stream(), "text/event-stream");
    });
    auto p = provider(r.url(), 0.2, 1);
    Call run = generate(*p, false);
    EXPECT_EQ(run.result.finish, Finish::timeout);
    EXPECT_EQ(r.calls.load(), 2);  // the time-out was retried once
}

TEST(RemoteProvider, ConnectionRefused) {
    // A port that was free a moment ago and has no listener now.
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    const int port = ntohs(a.sin_port);
    ::close(fd);
    auto p = provider("http://127.0.0.1:" + std::to_string(port) + "/v1", 5, 1);
    Call run = generate(*p, false);
    EXPECT_EQ(run.result.finish, Finish::error);
    EXPECT_EQ(run.result.http_status, 502);
}

TEST(RemoteProvider, NoRetryOnceADeltaWasPassedOn) {
    Remote r([](const httplib::Request&, httplib::Response& res, int) {
        res.set_content(chunk("partial"), "text/event-stream");  // then the stream ends: no finish, no [DONE]
    });
    auto p = provider(r.url());
    Call run = generate(*p, true);
    EXPECT_EQ(run.result.finish, Finish::error);
    EXPECT_EQ(run.deltas, (std::vector<std::string>{"partial"}));
    EXPECT_EQ(r.calls.load(), 1);
    // Buffered (nothing passed on yet), the same failure is retried.
    Call buffered = generate(*p, false);
    EXPECT_EQ(buffered.result.finish, Finish::error);
    EXPECT_EQ(r.calls.load(), 1 + 3);
}

// A caller that waits on its own thread anyway gets the call made right there: on_done has run, on that
// thread, when start() returns (retries included); any other caller's call runs on a worker.
TEST(RemoteProvider, RunsOnTheCallersThreadWhenTheCallerWaitsThere) {
    Remote r([](const httplib::Request&, httplib::Response& res, int call) {
        if (call % 2 == 0) {
            res.status = 503;
            res.set_content("busy", "text/plain");
        } else {
            res.set_content(good_stream(), "text/event-stream");
        }
    });
    auto p = provider(r.url());
    for (bool here : {true, false}) {
        GenerationRequest req;
        req.messages = {{"user", "hi", {}}};
        std::promise<std::pair<std::thread::id, GenerationResult>> done;
        GenerationCallbacks cb;
        cb.on_done = [&](GenerationResult&& res) { done.set_value({std::this_thread::get_id(), std::move(res)}); };
        if (here) cb.inline_thread = std::this_thread::get_id();
        auto fut = done.get_future();
        auto g = p->start(std::move(req), std::move(cb));
        if (here) {
            ASSERT_EQ(fut.wait_for(std::chrono::seconds(0)), std::future_status::ready);
        }
        auto [thread, result] = fut.get();
        EXPECT_EQ(thread == std::this_thread::get_id(), here);
        EXPECT_EQ(result.finish, Finish::stop);
        EXPECT_EQ(result.text, "Hello");
    }
    EXPECT_EQ(r.calls.load(), 4);
}

// An inline call asks its caller whether to go on (the client may have gone away) and stops when told.
TEST(RemoteProvider, AnInlineCallStopsWhenTheCallerSaysSo) {
    Remote r([](const httplib::Request&, httplib::Response& res, int) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2500));
        res.set_content(good_stream(), "text/event-stream");
    });
    auto p = provider(r.url());
    GenerationRequest req;
    req.messages = {{"user", "hi", {}}};
    std::optional<GenerationResult> result;
    int asked = 0;
    GenerationCallbacks cb;
    cb.on_done = [&](GenerationResult&& res) { result = std::move(res); };
    cb.inline_thread = std::this_thread::get_id();
    cb.keep_going = [&] { return ++asked < 2; };
    p->start(std::move(req), std::move(cb));
    ASSERT_TRUE(result);
    EXPECT_EQ(result->finish, Finish::cancelled);
    EXPECT_EQ(asked, 2);
}

TEST(RemoteProvider, RefusesWhatItCannotForward) {
    auto p = provider("http://127.0.0.1:1/v1");
    GenerationRequest req;
    req.kind = GenerationRequest::Kind::embedding;
    EXPECT_THROW(p->start(req, {}), Error);
    req.kind = GenerationRequest::Kind::text;
    req.prompt_tokens = {1, 2};
    EXPECT_THROW(p->start(req, {}), Error);
    RemoteOptions bad;
    bad.base_url = "ftp://x";
    EXPECT_THROW(RemoteProvider{bad}, Error);
}

}  // namespace
}  // namespace kinglet::router
