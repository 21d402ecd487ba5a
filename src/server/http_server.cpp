#include "server/http_server.h"

#include <fmt/ranges.h>
#include <httplib.h>

#include <condition_variable>
#include <ctime>
#include <deque>
#include <mutex>

#include "core/error.h"
#include "core/log.h"
#include "server/api_error.h"

namespace kinglet::server {

using nlohmann::json;

std::string dump_json(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }
std::string dump_json(const nlohmann::ordered_json& j) {
    return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

namespace {

// cpp-httplib's own pool queues connections without bound; this one blocks the accepting thread when
// `max_pending` connections already wait, so a flood backs up into the kernel's listen queue instead of
// memory.
class BoundedPool final : public httplib::TaskQueue {
public:
    BoundedPool(size_t threads, size_t max_pending) : max_pending_(max_pending) {
        for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { work(); });
    }
    void enqueue(std::function<void()> fn) override {
        std::unique_lock<std::mutex> lock(mu_);
        space_.wait(lock, [&] { return jobs_.size() < max_pending_ || stop_; });
        jobs_.push_back(std::move(fn));
        lock.unlock();
        ready_.notify_one();
    }
    void shutdown() override {
        {
            std::lock_guard<std::mutex> lock(mu_);
            stop_ = true;
        }
        ready_.notify_all();
        space_.notify_all();
        for (auto& t : threads_) t.join();
    }

private:
    void work() {
        for (;;) {
            std::function<void()> fn;
            {
                std::unique_lock<std::mutex> lock(mu_);
                ready_.wait(lock, [&] { return !jobs_.empty() || stop_; });
                if (jobs_.empty()) return;
                fn = std::move(jobs_.front());
                jobs_.pop_front();
            }
            space_.notify_one();
            fn();
        }
    }
    size_t max_pending_;
    std::mutex mu_;
    std::condition_variable ready_, space_;
    std::deque<std::function<void()>> jobs_;
    std::vector<std::thread> threads_;
    bool stop_ = false;
};

thread_local std::chrono::steady_clock::time_point t_request_start;
thread_local int64_t t_request_start_ms = 0;
thread_local int t_key = -1;

std::string endpoint_label(const std::string& path) {
    static const char* known[] = {"/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/models",
                                  "/tokenize", "/detokenize", "/health", "/metrics"};
    for (const char* k : known)
        if (path == k) return k;
    if (path.rfind("/v1/models/", 0) == 0) return "/v1/models/{model}";
    return "other";
}

}  // namespace

HttpServer::HttpServer(HttpOptions opt, std::shared_ptr<router::Registry> registry, KeySet keys,
                       std::shared_ptr<Accounting> accounting)
    : opt_(std::move(opt)), registry_(std::move(registry)), keys_(std::move(keys)),
      accounting_(accounting ? std::move(accounting) : std::make_shared<Accounting>(std::vector<Tenant>{}, std::vector<int>{}, nullptr)),
      http_(std::make_unique<httplib::Server>()) {
    install_routes();
}

HttpServer::~HttpServer() { stop(); }

std::chrono::steady_clock::time_point HttpServer::request_start() { return t_request_start; }
int64_t HttpServer::request_start_ms() { return t_request_start_ms; }
int HttpServer::request_key() { return t_key; }

void HttpServer::start() {
    const size_t threads = size_t(std::max(2, opt_.threads));
    http_->new_task_queue = [threads] { return new BoundedPool(threads, threads * 4); };
    http_->set_payload_max_length(size_t(opt_.max_body_bytes));
    http_->set_keep_alive_timeout(opt_.keep_alive_s);
    http_->set_keep_alive_max_count(1000);
    http_->set_read_timeout(30);
    http_->set_write_timeout(30);
    http_->set_tcp_nodelay(true);
    if (opt_.port == 0) {
        port_ = http_->bind_to_any_port(opt_.host);
        if (port_ <= 0) fail(Errc::io, "cannot listen on {} (any port)", opt_.host);
    } else {
        if (!http_->bind_to_port(opt_.host, opt_.port))
            fail(Errc::io, "cannot listen on {}:{} (in use, or not an address of this machine?)", opt_.host, opt_.port);
        port_ = opt_.port;
    }
    thread_ = std::thread([this] { http_->listen_after_bind(); });
    // stop() only works once the accept loop runs: wait for it, so a stop() right after start()
    // (a model that fails to load at once) cannot be lost.
    for (int i = 0; i < 5000 && !http_->is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

void HttpServer::stop() {
    if (!thread_.joinable()) return;
    http_->stop();
    thread_.join();
}

std::chrono::steady_clock::time_point HttpServer::deadline() const {
    if (opt_.request_timeout_s <= 0) return std::chrono::steady_clock::time_point::max();
    return std::chrono::steady_clock::now() +
           std::chrono::duration_cast<std::chrono::steady_clock::duration>(
               std::chrono::duration<double>(opt_.request_timeout_s));
}

std::string HttpServer::caller(const httplib::Request&) const { return KeySet::key_id(t_key); }

void HttpServer::send_error(httplib::Response& res, const ApiError& e) const {
    res.status = e.status();
    if (e.retry_after() > 0) res.set_header("Retry-After", std::to_string(e.retry_after()));
    // The openai clients retry 5xx by default; a generation that failed or timed out would fail again.
    if (e.status() == 500 || e.status() == 504) res.set_header("x-should-retry", "false");
    res.set_content(dump_json(e.body()), "application/json");
}

void HttpServer::guarded(const httplib::Request& req, httplib::Response& res,
                         const std::function<void(const httplib::Request&, httplib::Response&)>& fn) {
    try {
        fn(req, res);
    } catch (const ApiError& e) {
        send_error(res, e);
    } catch (const Error& e) {
        send_error(res, to_api_error(e));
    } catch (const std::bad_alloc&) {
        send_error(res, ApiError(503, "the server is out of memory", {}, "out_of_memory").with_retry_after(5));
    } catch (const std::exception& e) {
        log::error("{} {}: internal error: {}", req.method, req.path, e.what());
        send_error(res, ApiError(500, fmt::format("internal error: {}", e.what()), {}, "internal_error"));
    }
}

std::shared_ptr<router::Provider> HttpServer::resolve(const std::string& requested, std::string& name) const {
    if (requested.empty()) {
        auto names = registry_->names();
        if (names.size() == 1 && ready_) {
            name = names[0];
            return registry_->find(name);
        }
        bad_param("model", "Missing required parameter: 'model'. This server serves: {}.", fmt::join(names, ", "));
    }
    auto p = registry_->find(requested);
    if (p) {
        name = requested;
        return p;
    }
    if (!ready_) throw ApiError(503, "The models are still loading.", {}, "loading").with_retry_after(5);
    throw ApiError(404, fmt::format("The model '{}' does not exist. This server serves: {}.", requested,
                                    fmt::join(registry_->names(), ", ")),
                   "model", "model_not_found");
}

void HttpServer::install_routes() {
    auto& s = *http_;
    s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
        t_request_start = std::chrono::steady_clock::now();
        t_request_start_ms = Accounting::now_ms();
        t_key = -1;
        if (req.path == "/health") return httplib::Server::HandlerResponse::Unhandled;
        if (draining_ && req.path != "/metrics") {
            res.set_header("Connection", "close");
            send_error(res, ApiError(503, "The server is shutting down.", {}, "shutting_down").with_retry_after(1));
            return httplib::Server::HandlerResponse::Handled;
        }
        if (keys_.enabled()) {
            const std::string header = req.get_header_value("Authorization");
            const std::string_view key = bearer_token(header);
            if (key.empty()) {
                send_error(res, ApiError(401, "You didn't provide an API key. Send it as 'Authorization: Bearer KEY'.",
                                         {}, "missing_api_key"));
                return httplib::Server::HandlerResponse::Handled;
            }
            t_key = keys_.match(key);
            if (t_key < 0) {
                send_error(res, ApiError(401, "Incorrect API key provided.", {}, "invalid_api_key"));
                return httplib::Server::HandlerResponse::Handled;
            }
        }
        return httplib::Server::HandlerResponse::Unhandled;
    });
    s.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
        const std::string ep = endpoint_label(req.path);
        metrics_.count_request(ep, res.status);
        if (t_request_start.time_since_epoch().count())
            metrics_.observe_duration(ep, std::chrono::duration<double>(std::chrono::steady_clock::now() - t_request_start).count());
        log::info("{} {} {}", req.method, req.path, res.status);
    });
    // Errors cpp-httplib produces itself (unknown path 404, oversized body 413, malformed request 400)
    // get the OpenAI error body too.
    s.set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        ApiError e(res.status, res.status == 400 ? "The request is malformed." : fmt::format("HTTP error {}.", res.status));
        if (res.status == 404)
            e = ApiError(404, fmt::format("Unknown request URL: {} {}.", req.method, req.path), {}, "unknown_url");
        else if (res.status == 413)
            e = ApiError(413, fmt::format("The request body is larger than this server accepts ({} bytes).",
                                          opt_.max_body_bytes), {}, "request_too_large");
        res.set_content(dump_json(e.body()), "application/json");
        return httplib::Server::HandlerResponse::Handled;
    }));
    s.set_exception_handler([this](const httplib::Request& req, httplib::Response& res, std::exception_ptr) {
        send_error(res, ApiError(500, "internal error", {}, "internal_error"));
    });

    auto route = [this](void (HttpServer::*h)(const httplib::Request&, httplib::Response&)) {
        return [this, h](const httplib::Request& req, httplib::Response& res) {
            guarded(req, res, [this, h](const httplib::Request& q, httplib::Response& r) { (this->*h)(q, r); });
        };
    };
    s.Post("/v1/chat/completions", route(&HttpServer::handle_chat));
    s.Post("/v1/completions", route(&HttpServer::handle_completion));
    s.Post("/v1/embeddings", route(&HttpServer::handle_embeddings));
    s.Post("/tokenize", route(&HttpServer::handle_tokenize));
    s.Post("/detokenize", route(&HttpServer::handle_detokenize));
    s.Get("/v1/models", route(&HttpServer::handle_models));
    s.Get(R"(/v1/models/(.+))", route(&HttpServer::handle_model));
    s.Get("/health", route(&HttpServer::handle_health));
    s.Get("/metrics", route(&HttpServer::handle_metrics));
}

namespace {

nlohmann::ordered_json model_json(const std::string& name, const router::ProviderInfo& info) {
    nlohmann::ordered_json m = {{"id", name}, {"object", "model"}, {"created", info.created}, {"owned_by", info.owned_by}};
    if (info.context_length > 0) m["max_model_len"] = info.context_length;
    m["kinglet"] = {{"kind", info.kind}, {"chat_template", info.chat_template}, {"embeddings", info.embeddings}};
    return m;
}

}  // namespace

void HttpServer::handle_models(const httplib::Request&, httplib::Response& res) {
    nlohmann::ordered_json data = nlohmann::ordered_json::array();
    for (const auto& [name, p] : registry_->list()) data.push_back(model_json(name, p->info()));
    res.set_content(dump_json(nlohmann::ordered_json{{"object", "list"}, {"data", std::move(data)}}), "application/json");
}

void HttpServer::handle_model(const httplib::Request& req, httplib::Response& res) {
    std::string name;
    auto p = resolve(req.matches[1].str(), name);
    res.set_content(dump_json(model_json(name, p->info())), "application/json");
}

void HttpServer::handle_health(const httplib::Request&, httplib::Response& res) {
    if (!ready_) {
        res.status = 503;
        res.set_header("Retry-After", "5");
        res.set_content(dump_json(json{{"status", "loading"}}), "application/json");
        return;
    }
    if (draining_) {
        res.status = 503;
        res.set_content(dump_json(json{{"status", "shutting_down"}}), "application/json");
        return;
    }
    res.set_content(dump_json(json{{"status", "ok"}}), "application/json");
}

void HttpServer::handle_metrics(const httplib::Request&, httplib::Response& res) {
    std::vector<Metrics::ModelGauges> gauges;
    for (const auto& [name, p] : registry_->list()) {
        if (auto st = p->stats()) {
            Metrics::ModelGauges g;
            g.model = name;
            g.stats = *st;
            g.max_seqs = p->info().parallel;
            gauges.push_back(std::move(g));
        }
    }
    res.set_content(metrics_.render(gauges, ready_), "text/plain; version=0.0.4; charset=utf-8");
}

}  // namespace kinglet::server
