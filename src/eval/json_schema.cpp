#include "eval/json_schema.h"

#include <fmt/format.h>

#include <cmath>
#include <map>
#include <set>

#include "core/error.h"
#include "eval/metrics.h"

namespace kinglet::eval {

using nlohmann::ordered_json;

struct JsonSchema::Impl {
    ordered_json schema;
    // Compiled `pattern`s, by the schema location that holds them.
    std::map<std::string, RegexGrader> patterns;

    void compile(const ordered_json& s, const std::string& at, int depth = 0);
    std::string check(const ordered_json& s, const ordered_json& v, const std::string& at, const std::string& path) const;
};

namespace {

const std::set<std::string> kIgnored = {"$schema", "$id", "$comment", "title", "description", "default", "examples",
                                        "format"};
const std::set<std::string> kTypes = {"null", "boolean", "object", "array", "number", "string", "integer"};

[[noreturn]] void bad(const std::string& at, const std::string& what) {
    fail(Errc::invalid_argument, "JSON schema {}: {}", at, what);
}

bool is_integer(const ordered_json& v) {
    if (v.is_number_integer()) return true;
    if (!v.is_number_float()) return false;
    const double d = v.get<double>();
    return std::isfinite(d) && std::floor(d) == d;
}

bool has_type(const ordered_json& v, const std::string& t) {
    if (t == "null") return v.is_null();
    if (t == "boolean") return v.is_boolean();
    if (t == "object") return v.is_object();
    if (t == "array") return v.is_array();
    if (t == "string") return v.is_string();
    if (t == "number") return v.is_number();
    return is_integer(v);  // "integer"
}

// Numbers compare by value (1 == 1.0), as JSON Schema's equality does; objects ignore key order.
bool equal(const ordered_json& a, const ordered_json& b) {
    if (a.is_number() && b.is_number()) return a.get<double>() == b.get<double>();
    if (a.type() != b.type()) return false;
    if (a.is_array()) {
        if (a.size() != b.size()) return false;
        for (size_t i = 0; i < a.size(); ++i)
            if (!equal(a[i], b[i])) return false;
        return true;
    }
    if (a.is_object()) {
        if (a.size() != b.size()) return false;
        for (const auto& [k, v] : a.items())
            if (!b.contains(k) || !equal(v, b[k])) return false;
        return true;
    }
    return a == b;
}

size_t code_points(const std::string& s) {
    size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
}

std::string shown(const ordered_json& v) {
    std::string s = v.dump();
    return s.size() > 40 ? s.substr(0, 37) + "..." : s;
}

double number_at(const ordered_json& s, const char* k, const std::string& at) {
    if (!s[k].is_number()) bad(at + "/" + k, "must be a number");
    return s[k].get<double>();
}

size_t count_at(const ordered_json& s, const char* k, const std::string& at) {
    if (!s[k].is_number_unsigned() && !(s[k].is_number_integer() && s[k].get<int64_t>() >= 0))
        bad(at + "/" + k, "must be a non-negative integer");
    return s[k].get<size_t>();
}

}  // namespace

void JsonSchema::Impl::compile(const ordered_json& s, const std::string& at, int depth) {
    if (depth > 64) bad(at, "schemas nested more than 64 deep");  // validation recurses as deep
    if (s.is_boolean()) return;
    if (!s.is_object()) bad(at, "a schema is an object or true / false");
    for (const auto& [k, v] : s.items()) {
        const std::string here = at + "/" + k;
        if (kIgnored.count(k)) continue;
        if (k == "type") {
            const auto names = v.is_array() ? v : ordered_json::array({v});
            if (names.empty()) bad(here, "lists no type");
            for (const auto& t : names)
                if (!t.is_string() || !kTypes.count(t.get<std::string>()))
                    bad(here, fmt::format("{} is not a JSON type (null, boolean, object, array, number, string, integer)",
                                          shown(t)));
        } else if (k == "enum") {
            if (!v.is_array() || v.empty()) bad(here, "must be a non-empty array");
        } else if (k == "const") {
        } else if (k == "properties") {
            if (!v.is_object()) bad(here, "must be an object of schemas");
            for (const auto& [name, sub] : v.items()) compile(sub, here + "/" + name, depth + 1);
        } else if (k == "required") {
            if (!v.is_array()) bad(here, "must be an array of property names");
            for (const auto& n : v)
                if (!n.is_string()) bad(here, "must be an array of property names");
        } else if (k == "additionalProperties" || k == "items" || k == "not") {
            if (k == "items" && v.is_array()) bad(here, "a list of schemas (tuple items) is not supported; use one schema");
            compile(v, here, depth + 1);
        } else if (k == "allOf" || k == "anyOf" || k == "oneOf") {
            if (!v.is_array() || v.empty()) bad(here, "must be a non-empty array of schemas");
            for (size_t i = 0; i < v.size(); ++i) compile(v[i], here + "/" + std::to_string(i), depth + 1);
        } else if (k == "minItems" || k == "maxItems" || k == "minLength" || k == "maxLength") {
            count_at(s, k.c_str(), at);
        } else if (k == "uniqueItems") {
            if (!v.is_boolean()) bad(here, "must be true or false");
        } else if (k == "minimum" || k == "maximum" || k == "exclusiveMinimum" || k == "exclusiveMaximum") {
            number_at(s, k.c_str(), at);
        } else if (k == "multipleOf") {
            if (number_at(s, k.c_str(), at) <= 0) bad(here, "must be greater than 0");
        } else if (k == "pattern") {
            if (!v.is_string()) bad(here, "must be a regular expression");
            try {
                patterns.emplace(here, RegexGrader(v.get<std::string>()));
            } catch (const Error& e) {
                bad(here, e.what());
            }
        } else {
            bad(here, fmt::format("keyword '{}' is not supported (see eval/json_schema.h for those that are)", k));
        }
    }
}

std::string JsonSchema::Impl::check(const ordered_json& s, const ordered_json& v, const std::string& at,
                                    const std::string& path) const {
    if (s.is_boolean()) return s.get<bool>() ? "" : path + ": no value is allowed here";
    for (const auto& [k, kw] : s.items()) {
        const std::string here = at + "/" + k;
        if (k == "type") {
            const auto names = kw.is_array() ? kw : ordered_json::array({kw});
            bool ok = false;
            for (const auto& t : names) ok = ok || has_type(v, t.get<std::string>());
            if (!ok) return fmt::format("{}: {} is not of type {}", path, shown(v), kw.dump());
        } else if (k == "enum") {
            bool ok = false;
            for (const auto& e : kw) ok = ok || equal(e, v);
            if (!ok) return fmt::format("{}: {} is not one of {}", path, shown(v), shown(kw));
        } else if (k == "const") {
            if (!equal(kw, v)) return fmt::format("{}: {} is not {}", path, shown(v), shown(kw));
        } else if (k == "required" && v.is_object()) {
            for (const auto& n : kw)
                if (!v.contains(n.get<std::string>()))
                    return fmt::format("{}: property '{}' is required", path, n.get<std::string>());
        } else if (k == "properties" && v.is_object()) {
            for (const auto& [name, sub] : kw.items())
                if (v.contains(name))
                    if (auto e = check(sub, v[name], here + "/" + name, path + "." + name); !e.empty()) return e;
        } else if (k == "additionalProperties" && v.is_object()) {
            const ordered_json props = s.contains("properties") ? s["properties"] : ordered_json::object();
            for (const auto& [name, val] : v.items())
                if (!props.contains(name))
                    if (auto e = check(kw, val, here, path + "." + name); !e.empty())
                        return kw.is_boolean() ? fmt::format("{}: property '{}' is not allowed", path, name) : e;
        } else if (k == "items" && v.is_array()) {
            for (size_t i = 0; i < v.size(); ++i)
                if (auto e = check(kw, v[i], here, fmt::format("{}[{}]", path, i)); !e.empty()) return e;
        } else if (k == "minItems" && v.is_array() && v.size() < kw.get<size_t>()) {
            return fmt::format("{}: {} items, fewer than {}", path, v.size(), kw.get<size_t>());
        } else if (k == "maxItems" && v.is_array() && v.size() > kw.get<size_t>()) {
            return fmt::format("{}: {} items, more than {}", path, v.size(), kw.get<size_t>());
        } else if (k == "uniqueItems" && v.is_array() && kw.get<bool>()) {
            for (size_t i = 0; i < v.size(); ++i)
                for (size_t j = i + 1; j < v.size(); ++j)
                    if (equal(v[i], v[j])) return fmt::format("{}: items {} and {} are equal", path, i, j);
        } else if ((k == "minLength" || k == "maxLength") && v.is_string()) {
            const size_t n = code_points(v.get<std::string>()), lim = kw.get<size_t>();
            if (k == "minLength" ? n < lim : n > lim)
                return fmt::format("{}: {} characters, {} than {}", path, n, k == "minLength" ? "fewer" : "more", lim);
        } else if (k == "pattern" && v.is_string()) {
            if (!patterns.at(here)(v.get<std::string>()))
                return fmt::format("{}: {} does not match {}", path, shown(v), kw.get<std::string>());
        } else if (v.is_number() && (k == "minimum" || k == "maximum" || k == "exclusiveMinimum" ||
                                     k == "exclusiveMaximum" || k == "multipleOf")) {
            const double x = v.get<double>(), lim = kw.get<double>();
            bool ok = true;
            if (k == "minimum") ok = x >= lim;
            else if (k == "maximum") ok = x <= lim;
            else if (k == "exclusiveMinimum") ok = x > lim;
            else if (k == "exclusiveMaximum") ok = x < lim;
            else ok = std::isfinite(x / lim) && std::fabs(x / lim - std::round(x / lim)) < 1e-9;
            if (!ok) return fmt::format("{}: {} fails {} {}", path, shown(v), k, shown(kw));
        } else if (k == "allOf") {
            for (size_t i = 0; i < kw.size(); ++i)
                if (auto e = check(kw[i], v, here + "/" + std::to_string(i), path); !e.empty()) return e;
        } else if (k == "anyOf" || k == "oneOf") {
            size_t n = 0;
            for (size_t i = 0; i < kw.size(); ++i) n += check(kw[i], v, here + "/" + std::to_string(i), path).empty();
            if (n == 0) return fmt::format("{}: {} matches none of {}", path, shown(v), k);
            if (k == "oneOf" && n > 1) return fmt::format("{}: {} matches {} of oneOf, not exactly one", path, shown(v), n);
        } else if (k == "not") {
            if (check(kw, v, here, path).empty()) return fmt::format("{}: {} matches the schema under not", path, shown(v));
        }
    }
    return "";
}

JsonSchema::JsonSchema(const ordered_json& schema) : impl_(std::make_unique<Impl>()) {
    impl_->schema = schema;
    impl_->compile(impl_->schema, "#");
}
JsonSchema::~JsonSchema() = default;
JsonSchema::JsonSchema(JsonSchema&&) noexcept = default;
JsonSchema& JsonSchema::operator=(JsonSchema&&) noexcept = default;

std::string JsonSchema::violation(const ordered_json& value) const { return impl_->check(impl_->schema, value, "#", "$"); }

}  // namespace kinglet::eval
