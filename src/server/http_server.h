// kinglet's HTTP front: the OpenAI API (/v1/chat/completions, /v1/completions, /v1/embeddings,
// /v1/models), /tokenize, /detokenize, /health and /metrics over cpp-httplib. Requests are parsed and
// validated (server/openai_request.h), resolved to a provider by model name (router/registry.h) and
// answered whole or as server-sent events. The HTTP layer never touches an engine directly.
//
// Threads: cpp-httplib runs each connection on a thread of a bounded pool (a streaming response
// holds its thread until done); generation happens on the providers' threads, which only hand deltas
// over (server/generation_job.h).
#pragma once
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "router/registry.h"
#include "server/accounting.h"
#include "server/auth.h"
#include "server/metrics.h"
#include "server/openai_request.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace kinglet::server {

class ApiError;

struct HttpOptions {
    std::string host = "127.0.0.1";
    int port = 8080;               // 0 = any free port (see port())
    int threads = 64;              // connections served at once; more wait in a bounded queue
    int64_t max_body_bytes = 8 << 20;
    double request_timeout_s = 600;  // 0 = none
    int keep_alive_s = 5;
    RequestLimits limits;
};

class HttpServer {
public:
    // `accounting` (tenants, budgets, ledger) may be null: no tenants, no ledger.
    HttpServer(HttpOptions opt, std::shared_ptr<router::Registry> registry, KeySet keys,
               std::shared_ptr<Accounting> accounting = nullptr);
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    // Binds the listening socket (throws Error(io) naming host and port) and serves on a background
    // thread. Models may be added to the registry afterwards; /health says 503 until set_ready().
    void start();
    int port() const { return port_; }

    void set_ready() { ready_ = true; }
    bool ready() const { return ready_; }
    // Graceful shutdown, step 1: new API requests get 503 (the listener stays open so clients get an
    // answer instead of a refused connection); requests in flight go on.
    void begin_drain() { draining_ = true; }
    // Requests being answered (streams included).
    int in_flight() const { return in_flight_.load(); }
    // Step 2: closes the listener and the connections, joins the threads.
    void stop();

    Metrics& metrics() { return metrics_; }
    Accounting& accounting() { return *accounting_; }

    // The request being handled on this thread: when it arrived (steady and Unix ms) and the index
    // of its API key (-1 without authentication).
    static std::chrono::steady_clock::time_point request_start();
    static int64_t request_start_ms();
    static int request_key();

private:
    struct Context;
    void install_routes();
    // Runs `fn`, turning ApiError / Error / other exceptions into OpenAI error responses.
    void guarded(const httplib::Request& req, httplib::Response& res,
                 const std::function<void(const httplib::Request&, httplib::Response&)>& fn);
    void send_error(httplib::Response& res, const ApiError& e) const;
    std::shared_ptr<router::Provider> resolve(const std::string& requested, std::string& name) const;

    void handle_chat(const httplib::Request& req, httplib::Response& res);
    void handle_completion(const httplib::Request& req, httplib::Response& res);
    void handle_embeddings(const httplib::Request& req, httplib::Response& res);
    void handle_tokenize(const httplib::Request& req, httplib::Response& res);
    void handle_detokenize(const httplib::Request& req, httplib::Response& res);
    void handle_models(const httplib::Request& req, httplib::Response& res);
    void handle_model(const httplib::Request& req, httplib::Response& res);
    void handle_health(const httplib::Request& req, httplib::Response& res);
    void handle_metrics(const httplib::Request& req, httplib::Response& res);

    std::chrono::steady_clock::time_point deadline() const;
    std::string caller(const httplib::Request& req) const;

    HttpOptions opt_;
    std::shared_ptr<router::Registry> registry_;
    KeySet keys_;
    std::shared_ptr<Accounting> accounting_;
    Metrics metrics_;
    std::unique_ptr<httplib::Server> http_;
    std::thread thread_;
    int port_ = 0;
    std::atomic<bool> ready_{false}, draining_{false};
    std::atomic<int> in_flight_{0};
};

// JSON text for a response body; invalid UTF-8 (never expected) is replaced, never thrown.
std::string dump_json(const nlohmann::json& j);
std::string dump_json(const nlohmann::ordered_json& j);

}  // namespace kinglet::server
