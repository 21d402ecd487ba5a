#include "server/config.h"

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "chat/template.h"
#include "core/error.h"
#include "model/kv_cache.h"
#include "server/yaml_reader.h"

namespace kinglet::server {

namespace {

namespace fs = std::filesystem;

std::string resolve(const std::string& base_dir, const std::string& p) {
    if (p.empty() || fs::path(p).is_absolute() || base_dir.empty()) return p;
    return (fs::path(base_dir) / p).lexically_normal().string();
}

void read_server(YamlMap m, ServerSettings& s, const std::string& base_dir) {
    if (auto v = m.string("host")) s.host = *v;
    if (auto v = m.integer("port", 0, 65535)) s.port = int(*v);
    if (auto v = m.strings("api_keys")) s.api_keys = *v;
    if (auto v = m.string("api_keys_file")) s.api_keys_file = resolve(base_dir, *v);
    if (auto v = m.integer("http_threads", 0, 4096)) s.http_threads = int(*v);
    if (auto v = m.integer("max_body_bytes", 1024, int64_t(1) << 32)) s.max_body_bytes = *v;
    if (auto v = m.number("request_timeout_s", 0, 1e7)) s.request_timeout_s = *v;
    if (auto v = m.number("shutdown_timeout_s", 0, 1e5)) s.shutdown_timeout_s = *v;
    if (auto v = m.integer("keep_alive_s", 0, 3600)) s.keep_alive_s = int(*v);
    if (auto v = m.integer("max_n", 1, 128)) s.max_n = int(*v);
    m.finish();
}

ModelConfig read_model(const YamlMap::Entry& e, const YamlMap& parent, const std::string& base_dir) {
    const std::string& name = e.key;
    const YAML::Node& node = e.value;
    ModelConfig mc;
    mc.name = name;
    mc.origin = parent.at(e.key_node);
    if (!valid_model_name(name))
        parent.fail_at(e.key_node, name, "a model name may use letters, digits and . _ - : / only");
    // Shorthand: `small: path/to/model.gguf`.
    if (node.IsScalar()) {
        mc.path = resolve(base_dir, node.Scalar());
        return mc;
    }
    YamlMap m(node, parent.path(name), parent.file());
    auto path = m.string("path");
    if (!path || path->empty()) parent.fail_at(e.key_node, name, "'path' (the GGUF file) is required");
    mc.path = resolve(base_dir, *path);
    if (auto v = m.integer("ctx", 0, 1 << 20)) mc.ctx = int(*v);
    if (auto v = m.integer("parallel", 1, 1024)) mc.parallel = int(*v);
    if (auto v = m.integer("threads", 0, 1024)) mc.threads = int(*v);
    if (auto v = m.integer("batch_tokens", 1, 1 << 16)) mc.batch_tokens = int(*v);
    if (auto v = m.integer("max_queue", 0, 1 << 20)) mc.max_queue = int(*v);
    if (auto v = m.boolean("prefix_cache")) mc.prefix_cache = *v;
    if (auto v = m.string("kv_type")) {
        if (!kv_type_from_name(*v)) m.fail_at(m.node("kv_type"), "kv_type", std::string("must be ") + kKvTypeNames);
        mc.kv_type = *v;
    }
    if (auto v = m.string("chat_template")) {
        // A built-in name stays a name; anything else is a file path.
        mc.chat_template = chat::builtin_template(*v) ? *v : resolve(base_dir, *v);
    }
    read_price(m, mc.price, true);
    m.finish();
    return mc;
}

}  // namespace

bool valid_model_name(std::string_view name) {
    if (name.empty() || name.size() > 256 || name[0] == '/' || name[0] == '.') return false;
    for (char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                        c == '_' || c == '-' || c == ':' || c == '/';
        if (!ok) return false;
    }
    return true;
}

Config parse_config(std::string_view yaml, const std::string& name, const std::string& base_dir) {
    auto file = std::make_shared<const std::string>(name);
    YAML::Node root;
    try {
        root = YAML::Load(std::string(yaml));
    } catch (const YAML::Exception& e) {
        fail(Errc::invalid_file, "{}:{}:{}: YAML syntax error: {}", name, e.mark.line + 1, e.mark.column + 1, e.msg);
    }
    Config c;
    c.path = name;
    try {
        YamlMap top(root, "", file);
        if (auto s = top.map("server")) read_server(std::move(*s), c.server, base_dir);
        if (auto m = top.map("models")) {
            for (const auto& e : m->entries()) c.models.push_back(read_model(e, *m, base_dir));
        }
        if (auto m = top.map("providers")) read_providers(std::move(*m), c.routing.providers);
        if (auto m = top.map("routes")) read_routes(std::move(*m), c.routing.routes);
        if (auto m = top.map("tenants")) read_tenants(std::move(*m), c.routing.tenants, base_dir);
        read_ledger(top.node("ledger"), top, c.routing.ledger, base_dir);
        top.finish();
    } catch (const YAML::Exception& e) {
        // yaml-cpp's own conversion errors (should not happen: every read goes through YamlMap).
        fail(Errc::invalid_argument, "{}:{}:{}: {}", name, e.mark.line + 1, e.mark.column + 1, e.msg);
    }
    return c;
}

Config load_config(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail(Errc::not_found, "{}: cannot open the configuration file", path);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string base = fs::path(path).parent_path().string();
    return parse_config(ss.str(), path, base.empty() ? "." : base);
}

void validate(const Config& c) {
    if (c.models.empty() && c.routing.providers.empty())
        fail(Errc::invalid_argument,
             "no model to serve: give --model NAME=PATH, or a models: or providers: section in the config file");
    std::set<std::string> names;
    for (const auto& m : c.models) {
        if (!valid_model_name(m.name))
            fail(Errc::invalid_argument, "{}: model name '{}' may use letters, digits and . _ - : / only", m.origin, m.name);
        if (!names.insert(m.name).second)
            fail(Errc::invalid_argument, "{}: model name '{}' is declared twice", m.origin, m.name);
        if (m.path.empty()) fail(Errc::invalid_argument, "{}: model '{}' has no path", m.origin, m.name);
    }
    validate_routing(c.routing, std::vector<std::string>(names.begin(), names.end()));
}

}  // namespace kinglet::server
