#include "eval/config_threshold.h"

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

YAML::Node first_step(const std::string& path, const YAML::Node& root, const std::string& route) {
    const YAML::Node r = root["routes"][route];
    if (!r || !r.IsMap()) fail(Errc::invalid_file, "{}: no route '{}' under routes:", path, route);
    const YAML::Node steps = r["steps"];
    if (!steps || !steps.IsSequence() || steps.size() == 0 || !steps[0].IsMap())
        fail(Errc::invalid_file, "{}: route '{}' has no cascade steps", where(path, r), route);
    return steps[0];
}

// Length of the plain scalar starting at `col` of `line`.
size_t scalar_length(const std::string& line, size_t col) {
    size_t e = col;
    while (e < line.size() && line[e] != ',' && line[e] != '}' && line[e] != ' ' && line[e] != '#' &&
           line[e] != '\r')
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

void write_cascade_threshold(const std::string& path, const std::string& route, double threshold) {
    const std::string text = read_file(path);
    const YAML::Node root = load(path, text);
    const YAML::Node first = first_step(path, root, route);
    auto lines = lines_of(text);
    // Every digit: the threshold is one of the calibration cases' signal values, and a rounded one would
    // decide cases at that value (identical inputs in production) the other way.
    const std::string value = fmt::format("{}", threshold);
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
            fail(Errc::invalid_file, "{}: add `min_confidence: {}` to route '{}''s first step by hand",
                 where(path, first), value, route);
        size_t end = close;
        while (end > 0 && l[end - 1] == ' ') --end;
        l.insert(end, ", min_confidence: " + value);
    } else {
        // A block mapping: a new line at the indentation of its first key.
        const auto m = first.begin()->first.Mark();
        lines.insert(lines.begin() + m.line + 1,
                     std::string(size_t(m.column), ' ') + "min_confidence: " + value);
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
    const YAML::Node back = first_step(path, load(path, read_file(path)), route)["min_confidence"];
    if (!back || back.Scalar() != value)
        fail(Errc::internal, "{}: the threshold did not read back after writing", path);
}

}  // namespace kinglet::eval
