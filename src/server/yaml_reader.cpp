#include "server/yaml_reader.h"

#include <fmt/format.h>

#include <cmath>

#include "core/error.h"

namespace kinglet::server {

YamlMap::YamlMap(const YAML::Node& node, std::string where, std::shared_ptr<const std::string> file)
    : node_(node), where_(std::move(where)), file_(std::move(file)) {
    if (!node_ || node_.IsNull()) return;
    if (!node_.IsMap())
        fail(Errc::invalid_argument, "{}: {} must be a mapping (key: value lines)", at(node_),
             where_.empty() ? "the configuration" : where_);
    for (auto it = node_.begin(); it != node_.end(); ++it) {
        if (!it->first.IsScalar()) fail(Errc::invalid_argument, "{}: keys must be plain names", at(it->first));
        std::string key = it->first.Scalar();
        for (const auto& item : items_)
            if (item.first == key)
                fail(Errc::invalid_argument, "{}: duplicate key '{}' in {} (first at {})", at(it->first), path(key),
                     where_.empty() ? "the configuration" : where_, at(item.second.first));
        items_.push_back({key, {it->first, it->second}});
    }
}

std::string YamlMap::at(const YAML::Node& n) const {
    const YAML::Mark m = n.Mark();
    if (m.is_null()) return *file_;
    return fmt::format("{}:{}:{}", *file_, m.line + 1, m.column + 1);
}

void YamlMap::fail_at(const YAML::Node& n, const std::string& key, const std::string& message) const {
    fail(Errc::invalid_argument, "{}: {}: {}", at(n), path(key), message);
}

bool YamlMap::has(const std::string& key) const {
    for (const auto& item : items_)
        if (item.first == key && !item.second.second.IsNull()) return true;
    return false;
}

const YAML::Node* YamlMap::find(const std::string& key) {
    asked_.insert(key);
    for (const auto& item : items_)
        if (item.first == key) return item.second.second.IsNull() ? nullptr : &item.second.second;
    return nullptr;
}

std::string YamlMap::scalar(const std::string& key, const YAML::Node& v, const char* expected) {
    if (!v.IsScalar()) fail_at(v, key, fmt::format("expected {}", expected));
    return v.Scalar();
}

std::optional<std::string> YamlMap::string(const std::string& key) {
    const YAML::Node* v = find(key);
    if (!v) return std::nullopt;
    return scalar(key, *v, "a string");
}

std::optional<int64_t> YamlMap::integer(const std::string& key, int64_t lo, int64_t hi) {
    const YAML::Node* v = find(key);
    if (!v) return std::nullopt;
    const std::string s = scalar(key, *v, "an integer");
    int64_t i = 0;
    size_t used = 0;
    try {
        i = std::stoll(s, &used, 10);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used == 0 || used != s.size()) fail_at(*v, key, fmt::format("expected an integer, got '{}'", s));
    if (i < lo || i > hi) fail_at(*v, key, fmt::format("must be between {} and {}, got {}", lo, hi, i));
    return i;
}

std::optional<double> YamlMap::number(const std::string& key, double lo, double hi) {
    const YAML::Node* v = find(key);
    if (!v) return std::nullopt;
    const std::string s = scalar(key, *v, "a number");
    double d = 0;
    size_t used = 0;
    try {
        d = std::stod(s, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used == 0 || used != s.size() || !std::isfinite(d))
        fail_at(*v, key, fmt::format("expected a number, got '{}'", s));
    if (d < lo || d > hi) fail_at(*v, key, fmt::format("must be between {} and {}, got {}", lo, hi, s));
    return d;
}

std::optional<bool> YamlMap::boolean(const std::string& key) {
    const YAML::Node* v = find(key);
    if (!v) return std::nullopt;
    const std::string s = scalar(key, *v, "true or false");
    if (s == "true" || s == "True" || s == "yes") return true;
    if (s == "false" || s == "False" || s == "no") return false;
    fail_at(*v, key, fmt::format("expected true or false, got '{}'", s));
}

std::optional<std::vector<std::string>> YamlMap::strings(const std::string& key) {
    const YAML::Node* v = find(key);
    if (!v) return std::nullopt;
    std::vector<std::string> out;
    if (v->IsScalar()) {
        out.push_back(v->Scalar());
        return out;
    }
    if (!v->IsSequence()) fail_at(*v, key, "expected a string or a list of strings");
    for (const auto& item : *v) {
        if (!item.IsScalar()) fail_at(item, key, "expected a list of strings");
        out.push_back(item.Scalar());
    }
    return out;
}

std::optional<YamlMap> YamlMap::map(const std::string& key) {
    const YAML::Node* v = find(key);
    if (!v) return std::nullopt;
    return YamlMap(*v, path(key), file_);
}

YAML::Node YamlMap::node(const std::string& key) {
    const YAML::Node* v = find(key);
    return v ? *v : YAML::Node();
}

std::vector<YamlMap::Entry> YamlMap::entries() {
    std::vector<Entry> out;
    for (const auto& item : items_) {
        asked_.insert(item.first);
        out.push_back({item.first, item.second.first, item.second.second});
    }
    return out;
}

void YamlMap::finish() const {
    for (const auto& item : items_) {
        if (asked_.count(item.first)) continue;
        std::string known;
        for (const auto& k : asked_) known += (known.empty() ? "" : ", ") + k;
        fail(Errc::invalid_argument, "{}: unknown key '{}' in {} (allowed: {})", at(item.second.first), item.first,
             where_.empty() ? "the configuration" : where_, known.empty() ? "none" : known);
    }
}

}  // namespace kinglet::server
