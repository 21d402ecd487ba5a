// kinglet serve: the OpenAI API over local models (docs/serve.md). Settings come from --config
// (docs/config.md) with command-line flags on top; models load in the background while /health says
// 503; SIGTERM or SIGINT drains in-flight requests within the shutdown deadline and exits 0.
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

#include "chat/template.h"
#include "cli/command.h"
#include "cli/companion.h"
#include "core/error.h"
#include "core/log.h"
#include "ledger/url.h"
#include "model/model.h"
#include "router/local_provider.h"
#include "router/registry.h"
#include "server/config.h"
#include "server/http_server.h"
#include "server/local_model.h"
#include "server/routing_setup.h"

namespace kinglet::cli {
namespace {

struct Options {
    std::string config;
    std::vector<std::string> models;
    std::string host;
    int port = -1;
    int ctx = -1, parallel = -1, threads = -1;
    std::vector<std::string> api_keys;
    std::string api_keys_file;
    std::string chat_template;
    double timeout = -1;
    int http_threads = -1;
    std::string ledger;  // --ledger: a URL, or "off"
};

server::Config build_config(const Options& o) {
    server::Config c = o.config.empty() ? server::Config{} : server::load_config(o.config);
    if (o.config.empty()) c.routing.ledger = {ledger::default_ledger_url(""), true};
    if (o.ledger == "off") {
        c.routing.ledger = {};
    } else if (!o.ledger.empty()) {
        (void)ledger::parse_ledger_url(o.ledger);  // a bad URL fails before anything starts
        c.routing.ledger = {o.ledger, false};
    }
    for (const auto& spec : o.models) {
        server::ModelConfig m;
        const size_t eq = spec.find('=');
        if (eq == std::string::npos) {
            m.path = spec;
            m.name = std::filesystem::path(spec).stem().string();
        } else {
            m.name = spec.substr(0, eq);
            m.path = spec.substr(eq + 1);
        }
        m.origin = "--model " + spec;
        std::erase_if(c.models, [&](const server::ModelConfig& x) { return x.name == m.name; });
        c.models.push_back(std::move(m));
    }
    for (auto& m : c.models) {
        if (o.ctx >= 0) m.ctx = o.ctx;
        if (o.parallel > 0) m.parallel = o.parallel;
        if (o.threads >= 0) m.threads = o.threads;
        if (!o.chat_template.empty()) m.chat_template = o.chat_template;
    }
    if (!o.host.empty()) c.server.host = o.host;
    if (o.port >= 0) c.server.port = o.port;
    for (const auto& k : o.api_keys) c.server.api_keys.push_back(k);
    if (!o.api_keys_file.empty()) c.server.api_keys_file = o.api_keys_file;
    if (o.timeout >= 0) c.server.request_timeout_s = o.timeout;
    if (o.http_threads > 0) c.server.http_threads = o.http_threads;
    server::validate(c);
    return c;
}

int run(const Options& o) {
    // Signals are taken by sigwait() below; every thread started from here on inherits the mask.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGUSR1);  // the loader: a model failed to load
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    const server::Config cfg = build_config(o);
    std::shared_ptr<ledger::Ledger> ledger;
    if (!cfg.routing.ledger.url.empty()) {
        ledger = ledger::open_ledger(cfg.routing.ledger.url);
        std::fprintf(stderr, "kinglet serve: ledger %s%s\n", ledger->url().c_str(),
                     cfg.routing.ledger.is_default ? " (the default; `ledger: off` in the config or --ledger off for none)"
                                                   : "");
    } else {
        std::fprintf(stderr, "kinglet serve: no ledger (requests are not recorded; budgets count from start-up)\n");
    }
    auto [keys, accounting] = server::make_accounting(cfg, ledger);

    server::HttpOptions ho;
    ho.host = cfg.server.host;
    ho.port = cfg.server.port;
    int slots = 0;
    for (const auto& m : cfg.models) slots += m.parallel;
    ho.threads = cfg.server.http_threads > 0 ? cfg.server.http_threads : std::max(32, 4 * slots + 16);
    ho.max_body_bytes = cfg.server.max_body_bytes;
    ho.request_timeout_s = cfg.server.request_timeout_s;
    ho.keep_alive_s = cfg.server.keep_alive_s;
    ho.limits.max_n = cfg.server.max_n;

    auto registry = std::make_shared<router::Registry>();
    server::register_routing(cfg, registry);
    server::HttpServer http(ho, registry, keys, accounting);
    http.start();
    std::printf("kinglet serve: listening on http://%s:%d\n", cfg.server.host.c_str(), http.port());
    std::fflush(stdout);
    if (!keys.enabled() && cfg.server.host != "127.0.0.1" && cfg.server.host != "localhost" && cfg.server.host != "::1")
        log::warn("serving on {} without API keys: anyone who can reach this address can use it", cfg.server.host);

    std::string load_error;
    std::thread loader([&] {
        try {
            for (const auto& mc : cfg.models) {
                const auto t0 = std::chrono::steady_clock::now();
                auto p = server::meter_local(mc, server::load_local_model(mc));
                registry->add(mc.name, p);
                const auto info = p->info();
                std::fprintf(stderr, "kinglet serve: model '%s' loaded from %s (context %d, %d parallel, KV cache %.0f MiB, chat template %s) in %.1f s\n",
                             mc.name.c_str(), mc.path.c_str(), info.context_length, info.parallel,
                             double(info.kv_cache_bytes) / (1 << 20),
                             info.chat_template.c_str(),
                             std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
            }
            http.set_ready();
            std::fprintf(stderr, "kinglet serve: ready\n");
        } catch (const std::exception& e) {
            load_error = e.what();
            kill(getpid(), SIGUSR1);
        }
    });

    int sig = 0;
    sigwait(&signals, &sig);
    if (sig == SIGUSR1) {
        loader.join();
        http.stop();
        fail(Errc::invalid_argument, "{}", load_error);
    }
    std::fprintf(stderr, "kinglet serve: %s received, finishing requests in flight (up to %.0f s)\n",
                 sig == SIGINT ? "SIGINT" : "SIGTERM", cfg.server.shutdown_timeout_s);
    http.begin_drain();
    // A second signal means "now": exit without waiting for requests in flight.
    std::thread([signals] {
        int again = 0;
        sigwait(&signals, &again);
        std::fprintf(stderr, "kinglet serve: second signal, exiting now\n");
        std::_Exit(1);
    }).detach();
    loader.join();  // a model still loading finishes first (loading cannot be interrupted)
    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                              std::chrono::duration<double>(cfg.server.shutdown_timeout_s));
    std::vector<std::thread> stoppers;
    for (const auto& [name, p] : registry->list())
        stoppers.emplace_back([p = p, deadline] { p->shutdown(deadline); });
    for (auto& t : stoppers) t.join();
    // Responses whose generation ended are still being written out; give them a moment.
    const auto flush_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (http.in_flight() > 0 && std::chrono::steady_clock::now() < flush_deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    http.stop();
    std::fprintf(stderr, "kinglet serve: stopped\n");
    return 0;
}

const Registrar registrar{Command{
    "serve",
    std::string(companion_description("serve")),
    [](CLI::App& sub) {
        auto o = std::make_shared<Options>();
        sub.add_option("-c,--config", o->config, "YAML configuration file (docs/config.md); flags override it");
        sub.add_option("-m,--model", o->models, "a model to serve, as NAME=PATH or PATH (name = file stem); repeatable");
        sub.add_option("--host", o->host, "address to listen on (default 127.0.0.1)");
        sub.add_option("--port", o->port, "port to listen on (default 8080; 0 = any free port)")->check(CLI::Range(0, 65535));
        sub.add_option("--ctx", o->ctx, "context length per sequence for every model (0 = the model's, at most 4096)");
        sub.add_option("--parallel", o->parallel, "sequences each model decodes together (default 4)")->check(CLI::PositiveNumber);
        sub.add_option("-t,--threads", o->threads, "compute threads per model (default: physical cores)");
        sub.add_option("--api-key", o->api_keys, "require this API key (Authorization: Bearer KEY); repeatable");
        sub.add_option("--api-keys-file", o->api_keys_file, "require one of the keys in this file (one per line)");
        sub.add_option("--chat-template", o->chat_template,
                       "chat template for every model: a built-in name (chatml, llama3, ...) or a Jinja file");
        sub.add_option("--timeout", o->timeout, "per-request time limit in seconds (0 = none; default 600)");
        sub.add_option("--http-threads", o->http_threads, "connections served at once (default: 4 per decoding slot + 16)");
        sub.add_option("--ledger", o->ledger,
                       "where request records go: sqlite://PATH, a path, postgresql://..., or off (default: the "
                       "config's ledger:, else kinglet-ledger.db beside the config file or in the working directory)");
        sub.footer(
            "Example:\n  kinglet serve -m tiny=model.gguf --port 8080\n"
            "  curl http://127.0.0.1:8080/v1/chat/completions -H 'Content-Type: application/json' \\\n"
            "    -d '{\"model\":\"tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]}'\n");
        return [o] { return run(*o); };
    },
}};

}  // namespace
}  // namespace kinglet::cli
