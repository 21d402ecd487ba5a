#include "eval/cascade_config.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace kinglet::eval {

namespace {

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail(Errc::not_found, "{}: cannot open the config file", path);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

YAML::Node load(const std::string& path, const std::string& text) {
    try {
        return YAML::Load(text);
    } catch (const YAML::Exception& e) {
        fail(Errc::invalid_file, "{}:{}:{}: {}", path, e.mark.line + 1, e.mark.column + 1, e.msg);
    }
}

std::string where(const std::string& path, const YAML::Node& n) {
    const auto m = n.Mark();
    return m.line >= 0 ? fmt::format("{}:{}:{}", path, m.line + 1, m.column + 1) : path;
}

std::optional<Price> price_of(const std::string& path, const YAML::Node& entry) {
    const YAML::Node p = entry["price"];
    if (!p) return std::nullopt;
    if (!p.IsMap()) fail(Errc::invalid_file, "{}: price must be {{ input_per_mtok, output_per_mtok }}", where(path, p));
    try {
        return Price{p["input_per_mtok"] ? p["input_per_mtok"].as<double>() : 0.0,
                     p["output_per_mtok"] ? p["output_per_mtok"].as<double>() : 0.0};
    } catch (const YAML::Exception&) {
        fail(Errc::invalid_file, "{}: prices must be numbers (USD per million tokens)", where(path, p));
    }
}

CascadeStep step_of(const std::string& path, const YAML::Node& root, const YAML::Node& step) {
    if (!step.IsMap() || !step["target"])
        fail(Errc::invalid_file, "{}: a cascade step needs `target: NAME`", where(path, step));
    CascadeStep s;
    s.name = step["target"].as<std::string>();
    const auto base = std::filesystem::path(path).parent_path();
    if (const YAML::Node m = root["models"][s.name]; m && m.IsMap()) {
        if (!m["path"]) fail(Errc::invalid_file, "{}: model '{}' has no path", where(path, m), s.name);
        std::filesystem::path file = m["path"].as<std::string>();
        if (file.is_relative()) file = base / file;
        s.target = parse_target("local:" + file.string());
        s.price = price_of(path, m);
        if (m["price_per_hour_usd"]) {
            try {
                s.usd_per_hour = m["price_per_hour_usd"].as<double>();
            } catch (const YAML::Exception&) {
                fail(Errc::invalid_file, "{}: price_per_hour_usd must be a number", where(path, m["price_per_hour_usd"]));
            }
        }
    } else if (const YAML::Node p = root["providers"][s.name]; p && p.IsMap()) {
        s.target = parse_target("remote:" + s.name);
        s.price = price_of(path, p);
    } else {
        fail(Errc::invalid_file, "{}: step target '{}' is neither under models: nor under providers:", where(path, step),
             s.name);
    }
    s.target.name = s.name;
    return s;
}

YAML::Node route_node(const std::string& path, const YAML::Node& root, const std::string& route) {
    const YAML::Node r = root["routes"][route];
    if (!r || !r.IsMap()) fail(Errc::invalid_file, "{}: no route '{}' under routes:", path, route);
    if (!r["policy"] || r["policy"].as<std::string>() != "cascade")
        fail(Errc::invalid_file, "{}: route '{}' is not a cascade (policy: cascade)", where(path, r), route);
    const YAML::Node steps = r["steps"];
    if (!steps || !steps.IsSequence() || steps.size() < 2)
        fail(Errc::invalid_file, "{}: cascade route '{}' needs at least two steps", where(path, r), route);
    return r;
}

// Length of the plain scalar starting at `col` of `line`.
size_t scalar_length(const std::string& line, size_t col) {
    size_t e = col;
    while (e < line.size() && line[e] != ',' && line[e] != '}' && line[e] != ' ' && line[e] != '#' && line[e] != '\r')
        ++e;
    return e - col;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> v;
    std::string cur;
    std::istringstream in(text);
    while (std::getline(in, cur)) v.push_back(cur);
    return v;
}

}  // namespace

CascadeRoute read_cascade_route(const std::string& path, const std::string& route) {
    const std::string text = read_file(path);
    const YAML::Node root = load(path, text);
    const YAML::Node r = route_node(path, root, route);
    CascadeRoute c;
    c.route = route;
    try {
        if (r["labels"]) c.labels = r["labels"].as<std::vector<std::string>>();
        const YAML::Node first = r["steps"][0];
        c.small = step_of(path, root, first);
        c.large = step_of(path, root, r["steps"][1]);
        if (first["signal"]) c.signal = first["signal"].as<std::string>();
        if (const YAML::Node t = first["min_confidence"]; t) {
            c.min_confidence = t.as<double>();
            const auto m = t.Mark();
            const auto lines = lines_of(text);
            if (m.line >= 0 && size_t(m.line) < lines.size()) {
                c.threshold_line = size_t(m.line);
                c.threshold_column = size_t(m.column);
                c.threshold_length = scalar_length(lines[size_t(m.line)], size_t(m.column));
            }
        }
    } catch (const YAML::Exception& e) {
        fail(Errc::invalid_file, "{}:{}:{}: route '{}': {}", path, e.mark.line + 1, e.mark.column + 1, route, e.msg);
    }
    return c;
}

void write_cascade_threshold(const std::string& path, const std::string& route, double threshold) {
    const std::string text = read_file(path);
    const YAML::Node root = load(path, text);
    const YAML::Node first = route_node(path, root, route)["steps"][0];
    auto lines = lines_of(text);
    const std::string value = fmt::format("{:.6g}", threshold);
    if (const YAML::Node t = first["min_confidence"]; t) {
        const auto m = t.Mark();
        auto& l = lines.at(size_t(m.line));
        l.replace(size_t(m.column), scalar_length(l, size_t(m.column)), value);
    } else if (first.Style() == YAML::EmitterStyle::Flow) {
        // `- { target: small, signal: label_prob }` on one line: add the field before the brace.
        const auto m = first.Mark();
        auto& l = lines.at(size_t(m.line));
        const size_t close = l.find('}', size_t(m.column));
        if (close == std::string::npos)
            fail(Errc::invalid_file, "{}: add `min_confidence: {}` to route '{}''s first step by hand", where(path, first),
                 value, route);
        size_t end = close;
        while (end > 0 && l[end - 1] == ' ') --end;
        l.insert(end, ", min_confidence: " + value);
    } else {
        // A block mapping: a new line at the indentation of its first key.
        const auto m = first.begin()->first.Mark();
        lines.insert(lines.begin() + m.line + 1, std::string(size_t(m.column), ' ') + "min_confidence: " + value);
    }
    std::string out;
    for (const auto& l : lines) out += l + "\n";
    const std::string tmp = path + ".tmp";
    {
        std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
        if (!f) fail(Errc::io, "{}: cannot write", tmp);
        f << out;
        if (!f.flush()) fail(Errc::io, "{}: cannot write", tmp);
    }
    std::filesystem::rename(tmp, path);
    // What was written must read back as the new threshold.
    const auto back = read_cascade_route(path, route);
    if (!back.min_confidence || fmt::format("{:.6g}", *back.min_confidence) != value)
        fail(Errc::internal, "{}: the threshold did not read back after writing", path);
}

}  // namespace kinglet::eval
