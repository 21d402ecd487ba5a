// Jinja's tests (`x is defined`, `n is divisibleby(3)`), with Python jinja2's semantics.
#include <fmt/format.h>

#include <cmath>

#include "chat/builtins.h"
#include "chat/utf8.h"

namespace kinglet::chat {

namespace {

const Value& arg(const CallArgs& a, const char* test) {
    if (a.positional.empty()) template_error(fmt::format("the '{}' test needs an argument", test));
    return a.positional[0];
}

bool parity(const Value& v, bool odd) {
    if (v.is_int() || v.is_bool()) {
        int64_t i = v.is_bool() ? int64_t{v.as_bool()} : v.as_int();
        return (i % 2 != 0) == odd;
    }
    if (v.is_float()) return (std::fmod(v.as_float(), 2.0) != 0) == odd;
    template_error(
        fmt::format("the '{}' test needs a number, not a {} value", odd ? "odd" : "even", v.type_name()));
}

bool has_case(const Value& v, bool upper) {
    if (!v.is_string()) return false;
    bool cased = false;
    for (char32_t c : utf8::code_points(v.as_string())) {
        if (upper ? utf8::is_lower(c) : utf8::is_upper(c)) return false;
        if (utf8::is_cased_letter(c)) cased = true;
    }
    return cased;
}

bool same_as(const Value& a, const Value& b) {
    if (a.type() != b.type()) return false;
    if (a.identity())
        return a.identity() == b.identity() || (a.is_string() && a.as_string() == b.as_string());
    return values_equal(a, b);
}

}  // namespace

bool has_test(std::string_view n) {
    static constexpr std::string_view names[] = {
        "boolean",     "callable", "defined", "divisibleby", "eq",   "equalto",   "==",     "escaped",
        "even",        "false",    "filter",  "float",       "ge",   ">=",        "gt",     ">",
        "greaterthan", "in",       "integer", "iterable",    "le",   "<=",        "lower",  "lt",
        "<",           "lessthan", "mapping", "ne",          "!=",   "none",      "number", "odd",
        "sameas",      "sequence", "string",  "test",        "true", "undefined", "upper"};
    for (auto x : names)
        if (x == n) return true;
    return false;
}

bool apply_test(Interpreter& in, std::string_view n, const Value& v, const CallArgs& a) {
    in.tick();
    if (n == "defined") return !v.is_undefined();
    if (n == "undefined") return v.is_undefined();
    if (n == "none") return v.is_none();
    if (n == "boolean") return v.is_bool();
    if (n == "true") return v.is_bool() && v.as_bool();
    if (n == "false") return v.is_bool() && !v.as_bool();
    if (n == "string") return v.is_string();
    if (n == "number") return v.is_number();
    if (n == "integer") return v.is_int();
    if (n == "float") return v.is_float();
    if (n == "mapping") return v.is_object();
    if (n == "iterable") return v.is_array() || v.is_string() || v.is_object() || v.is_undefined();
    if (n == "sequence") return v.is_array() || v.is_string() || v.is_object();
    if (n == "callable") return v.is_callable();
    if (n == "escaped") return false;
    if (n == "odd") return parity(v, true);
    if (n == "even") return parity(v, false);
    if (n == "lower") return has_case(v, false);
    if (n == "upper") return has_case(v, true);
    if (n == "divisibleby") {
        const Value& d = arg(a, "divisibleby");
        Value r = binary_operator(in, ast::BinaryOp::mod, v, d);
        return !r.truthy();
    }
    if (n == "eq" || n == "equalto" || n == "==") return values_equal(v, arg(a, "eq"));
    if (n == "ne" || n == "!=") return !values_equal(v, arg(a, "ne"));
    if (n == "lt" || n == "<" || n == "lessthan") return compare_values(v, arg(a, "lt")) < 0;
    if (n == "le" || n == "<=") return compare_values(v, arg(a, "le")) <= 0;
    if (n == "gt" || n == ">" || n == "greaterthan") return compare_values(v, arg(a, "gt")) > 0;
    if (n == "ge" || n == ">=") return compare_values(v, arg(a, "ge")) >= 0;
    if (n == "in") return binary_operator(in, ast::BinaryOp::in, v, arg(a, "in")).truthy();
    if (n == "sameas") return same_as(v, arg(a, "sameas"));
    if (n == "filter") return v.is_string() && has_filter(v.as_string());
    if (n == "test") return v.is_string() && has_test(v.as_string());
    template_error(fmt::format("unknown test '{}'", n));
}

}  // namespace kinglet::chat
