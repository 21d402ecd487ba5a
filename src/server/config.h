// kinglet serve's configuration file (YAML; docs/config.md documents every field). Top-level sections:
//   server:  where and how to listen (host, port, API keys, limits, timeouts)
//   models:  local models served by this process, by the name clients put in "model"
//   providers:, routes:, tenants:, ledger:  routing (server/routing_config.h, docs/routing.md)
// Each section is read by its own function with a YamlMap, so an unknown key anywhere is an error
// naming file:line:column.
// Command-line flags override the file (see cli/serve.cpp).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "server/routing_config.h"

namespace kinglet::server {

struct ModelConfig {
    std::string name;
    std::string path;              // GGUF file (relative paths: from the config file's folder)
    int ctx = 0;                   // tokens per sequence; 0 = the model's training context, at most 4096
    int parallel = 4;              // sequences decoded together (continuous batching slots)
    int threads = 0;               // compute threads; 0 = physical cores
    int batch_tokens = 512;        // tokens per forward pass (prompt chunk size)
    int max_queue = 64;            // requests waiting for a slot before 429
    bool prefix_cache = true;
    std::string kv_type = "f16";   // f16 | f32 | q8_0
    std::string chat_template;     // "" = the file's own; a built-in name; or a path to a Jinja file
    PriceConfig price;             // price_per_hour_usd, or price: {input_per_mtok, output_per_mtok}
    std::string origin;            // where it was declared ("kinglet.yaml:12:3", "--model"), for messages
};

struct ServerSettings {
    std::string host = "127.0.0.1";
    int port = 8080;
    std::vector<std::string> api_keys;   // empty (and no file): no authentication
    std::string api_keys_file;           // one key per line; '#' comments
    int http_threads = 0;                // 0 = 4 per decoding slot + 16, at least 32
    int64_t max_body_bytes = 8 << 20;
    double request_timeout_s = 600;      // 0 = none
    double shutdown_timeout_s = 30;
    int keep_alive_s = 5;
    int max_n = 8;
};

struct Config {
    ServerSettings server;
    std::vector<ModelConfig> models;
    RoutingConfig routing;
    std::string path;                    // the file read ("" when none)
};

// Reads and validates a configuration file. Throws Error: not_found (cannot open), invalid_file
// (YAML syntax, with line and column), invalid_argument (unknown key, wrong type or range, with line
// and column).
Config load_config(const std::string& path);
// The same from text; `name` is used in messages, `base_dir` resolves relative paths.
Config parse_config(std::string_view yaml, const std::string& name, const std::string& base_dir);

// Checks what the file format cannot: at least one model or provider, unique names, targets that
// exist, no route cycles. Run after
// command-line overrides are applied.
void validate(const Config& c);

// The names /v1/models may list: letters, digits and . _ - : / (not starting with / or .).
bool valid_model_name(std::string_view name);

}  // namespace kinglet::server
