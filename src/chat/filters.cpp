// Jinja's built-in filters, with Python jinja2's signatures and semantics, and Hugging Face's
// `tojson` (json.dumps with ensure_ascii=False and the given indent, separators and sort_keys).
// String filters given a non-string act on its display form, as jinja2's soft_str does.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "chat/builtins.h"
#include "chat/utf8.h"

namespace kinglet::chat {

namespace {

using Fn = Value (*)(Interpreter&, const Value&, const CallArgs&);

std::string text(Interpreter& in, const Value& v) {
    return v.is_string() ? v.as_string() : to_display_string(v, in.limits().max_string_bytes);
}

bool flag(const CallArgs& a, std::string_view name, size_t index, bool dflt) {
    const Value* v = a.get(name, index);
    return v && !v->is_undefined() ? v->truthy() : dflt;
}

// The items a filter iterates: list items, string characters, dict keys; undefined is empty.
Array iterate(const Value& v, const char* filter) {
    switch (v.type()) {
        case Value::Type::array:
            return v.as_array();
        case Value::Type::undefined:
            return {};
        case Value::Type::object: {
            Array keys;
            for (const auto& [k, x] : v.as_object().items()) keys.emplace_back(k);
            return keys;
        }
        case Value::Type::string: {
            Array chars;
            for (char32_t c : utf8::code_points(v.as_string())) {
                std::string s;
                utf8::append(s, c);
                chars.emplace_back(std::move(s));
            }
            return chars;
        }
        default:
            template_error(fmt::format("the {} filter needs a list, not a {} value", filter, v.type_name()));
    }
}

// `attribute` may be a dotted path ("function.name") or an index ("0").
Value lookup_attribute(const Value& item, const Value& attribute) {
    if (attribute.is_int()) {
        if (!item.is_array()) return Value();
        int64_t i = attribute.as_int();
        const auto& a = item.as_array();
        if (i < 0) i += static_cast<int64_t>(a.size());
        return i >= 0 && i < static_cast<int64_t>(a.size()) ? a[static_cast<size_t>(i)] : Value();
    }
    if (!attribute.is_string()) template_error("attribute must be a string or an integer");
    Value cur = item;
    std::string_view path = attribute.as_string();
    while (true) {
        size_t dot = path.find('.');
        std::string_view part = path.substr(0, dot);
        if (cur.is_object() || cur.is_namespace()) {
            const Value* v = cur.as_object().find(part);
            cur = v ? *v : Value();
        } else if (cur.is_array() && !part.empty() &&
                   part.find_first_not_of("0123456789") == std::string_view::npos) {
            size_t i = std::stoul(std::string(part));
            cur = i < cur.as_array().size() ? cur.as_array()[i] : Value();
        } else {
            return Value();
        }
        if (dot == std::string_view::npos) return cur;
        path.remove_prefix(dot + 1);
    }
}

Value f_abs(Interpreter&, const Value& v, const CallArgs&) {
    if (v.is_int()) {
        if (v.as_int() == INT64_MIN) template_error("integer overflow in abs");
        return Value(v.as_int() < 0 ? -v.as_int() : v.as_int());
    }
    if (v.is_bool()) return Value(int64_t{v.as_bool()});
    if (v.is_float()) return Value(std::fabs(v.as_float()));
    template_error(fmt::format("abs needs a number, not a {} value", v.type_name()));
}

Value f_length(Interpreter&, const Value& v, const CallArgs&) {
    switch (v.type()) {
        case Value::Type::string:
            return Value(static_cast<int64_t>(utf8::length(v.as_string())));
        case Value::Type::array:
            return Value(static_cast<int64_t>(v.as_array().size()));
        case Value::Type::object:
        case Value::Type::ns:
            return Value(static_cast<int64_t>(v.as_object().size()));
        case Value::Type::undefined:
            return Value(int64_t{0});
        default:
            template_error(fmt::format("a {} value has no length", v.type_name()));
    }
}

Value f_default(Interpreter&, const Value& v, const CallArgs& a) {
    const Value* d = a.get("default_value", 0);
    bool boolean = flag(a, "boolean", 1, false);
    if (v.is_undefined() || (boolean && !v.truthy())) return d ? *d : Value(std::string());
    return v;
}

Value f_upper(Interpreter& in, const Value& v, const CallArgs&) {
    return in.make_string(utf8::to_upper(text(in, v)));
}
Value f_lower(Interpreter& in, const Value& v, const CallArgs&) {
    return in.make_string(utf8::to_lower(text(in, v)));
}
Value f_capitalize(Interpreter& in, const Value& v, const CallArgs&) {
    return in.make_string(utf8::capitalize(text(in, v)));
}

// jinja2's title filter: words start after whitespace, '-', '(', '{', '[' or '<'.
Value f_title(Interpreter& in, const Value& v, const CallArgs&) {
    std::string s = text(in, v), out;
    bool start = true;
    for (size_t i = 0; i < s.size();) {
        char32_t c = utf8::decode(s, i);
        bool sep = utf8::is_space(c) || c == '-' || c == '(' || c == '{' || c == '[' || c == '<';
        std::string one;
        utf8::append(one, c);
        out += sep ? one : start ? utf8::to_upper(one) : utf8::to_lower(one);
        start = sep;
    }
    return in.make_string(std::move(out));
}

Value f_trim(Interpreter& in, const Value& v, const CallArgs& a) {
    const Value* chars = a.get("chars", 0);
    std::string s = text(in, v);
    if (chars && chars->is_string())
        return in.make_string(utf8::strip_chars(s, chars->as_string(), true, true));
    return in.make_string(utf8::trim(s, true, true));
}

Value f_string(Interpreter& in, const Value& v, const CallArgs&) {
    return v.is_string() ? v : in.make_string(text(in, v));
}

Value f_safe(Interpreter&, const Value& v, const CallArgs&) {
    return v;
}

Value f_escape(Interpreter& in, const Value& v, const CallArgs&) {
    std::string out;
    for (char c : text(in, v)) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&#34;";
                break;
            case '\'':
                out += "&#39;";
                break;
            default:
                out += c;
        }
    }
    return in.make_string(std::move(out));
}

Value f_replace(Interpreter& in, const Value& v, const CallArgs& a) {
    Value m = bound_method(Value(text(in, v)), "replace");
    CallArgs args = a;
    return in.call(m, args);
}

Value f_tojson(Interpreter& in, const Value& v, const CallArgs& a) {
    JsonOptions o;
    o.max_bytes = in.limits().max_string_bytes;
    o.ensure_ascii = flag(a, "ensure_ascii", 0, false);
    if (const Value* ind = a.get("indent", 1); ind && !ind->is_none() && !ind->is_undefined()) {
        if (ind->is_int())
            o.indent = static_cast<int>(std::clamp<int64_t>(ind->as_int(), 0, 64));
        else if (ind->is_string())
            template_error("tojson: a string indent is not supported");
        else
            template_error("tojson: indent must be an integer");
    }
    if (const Value* sep = a.get("separators", 2); sep && !sep->is_none() && !sep->is_undefined()) {
        if (!sep->is_array() || sep->as_array().size() != 2 || !sep->as_array()[0].is_string() ||
            !sep->as_array()[1].is_string())
            template_error("tojson: separators must be a pair of strings");
        o.has_separators = true;
        o.item_separator = sep->as_array()[0].as_string();
        o.key_separator = sep->as_array()[1].as_string();
    }
    o.sort_keys = flag(a, "sort_keys", 3, false);
    return in.make_string(to_json(v, o));
}

Value f_join(Interpreter& in, const Value& v, const CallArgs& a) {
    const Value* sep = a.get("d", 0);
    const Value* attr = a.get("attribute", 1);
    std::string s = sep && !sep->is_undefined() ? text(in, *sep) : "";
    std::string out;
    bool first = true;
    for (const auto& item : iterate(v, "join")) {
        in.tick();
        if (!first) out += s;
        first = false;
        Value x = attr && !attr->is_undefined() ? lookup_attribute(item, *attr) : item;
        if (!x.is_none() && !x.is_undefined()) out += text(in, x);
        if (out.size() > in.limits().max_string_bytes) in.charge(out.size());
    }
    return in.make_string(std::move(out));
}

Value f_first(Interpreter&, const Value& v, const CallArgs&) {
    Array items = iterate(v, "first");
    return items.empty() ? Value() : items.front();
}

Value f_last(Interpreter&, const Value& v, const CallArgs&) {
    Array items = iterate(v, "last");
    return items.empty() ? Value() : items.back();
}

Value f_list(Interpreter&, const Value& v, const CallArgs&) {
    return Value(iterate(v, "list"));
}

Value f_reverse(Interpreter& in, const Value& v, const CallArgs&) {
    if (v.is_string()) {
        auto cps = utf8::code_points(v.as_string());
        std::reverse(cps.begin(), cps.end());
        return in.make_string(utf8::from_code_points(cps, 0, cps.size()));
    }
    Array items = iterate(v, "reverse");
    std::reverse(items.begin(), items.end());
    return Value(std::move(items));
}

Value f_items(Interpreter&, const Value& v, const CallArgs&) {
    if (v.is_undefined()) return Value(Array{});
    if (!v.is_object() && !v.is_namespace())
        template_error(fmt::format("items needs a dict, not a {} value", v.type_name()));
    Array out;
    for (const auto& [k, x] : v.as_object().items()) out.emplace_back(Array{Value(k), x});
    return Value(std::move(out));
}

Value to_int(const Value& v, const Value& dflt, int base) {
    switch (v.type()) {
        case Value::Type::integer:
            return v;
        case Value::Type::boolean:
            return Value(int64_t{v.as_bool()});
        case Value::Type::floating: {
            double d = v.as_float();
            if (!std::isfinite(d) || std::fabs(d) >= 9.2e18) return dflt;
            return Value(static_cast<int64_t>(d));
        }
        case Value::Type::string: {
            std::string s = utf8::trim(v.as_string(), true, true);
            std::string digits;
            for (char c : s)
                if (c != '_') digits += c;
            if (digits.empty()) return dflt;
            char* end = nullptr;
            errno = 0;
            long long i = std::strtoll(digits.c_str(), &end, base);
            if (*end == '\0' && errno == 0) return Value(static_cast<int64_t>(i));
            if (base == 10) {  // int(float(s)) as jinja2 falls back to
                double d = std::strtod(digits.c_str(), &end);
                if (*end == '\0' && std::isfinite(d) && std::fabs(d) < 9.2e18)
                    return Value(static_cast<int64_t>(d));
            }
            return dflt;
        }
        default:
            return dflt;
    }
}

Value f_int(Interpreter&, const Value& v, const CallArgs& a) {
    const Value* d = a.get("default", 0);
    const Value* base = a.get("base", 1);
    int b = base && base->is_int() ? static_cast<int>(std::clamp<int64_t>(base->as_int(), 2, 36)) : 10;
    return to_int(v, d ? *d : Value(int64_t{0}), b);
}

Value f_float(Interpreter&, const Value& v, const CallArgs& a) {
    const Value* d = a.get("default", 0);
    Value dflt = d ? *d : Value(0.0);
    if (v.is_float()) return v;
    if (v.is_int()) return Value(static_cast<double>(v.as_int()));
    if (v.is_bool()) return Value(v.as_bool() ? 1.0 : 0.0);
    if (v.is_string()) {
        std::string s = utf8::trim(v.as_string(), true, true);
        char* end = nullptr;
        double x = std::strtod(s.c_str(), &end);
        if (!s.empty() && *end == '\0') return Value(x);
    }
    return dflt;
}

Value f_bool(Interpreter&, const Value& v, const CallArgs&) {
    return Value(v.truthy());
}

Value f_round(Interpreter&, const Value& v, const CallArgs& a) {
    const Value* p = a.get("precision", 0);
    const Value* m = a.get("method", 1);
    int64_t precision = p && p->is_int() ? std::clamp<int64_t>(p->as_int(), -300, 300) : 0;
    std::string method = m && m->is_string() ? m->as_string() : "common";
    if (!v.is_number() && !v.is_bool())
        template_error(fmt::format("round needs a number, not a {} value", v.type_name()));
    double x = v.is_bool() ? double(v.as_bool()) : v.as_number();
    double scale = std::pow(10.0, static_cast<double>(precision));
    if (method == "ceil") return Value(std::ceil(x * scale) / scale);
    if (method == "floor") return Value(std::floor(x * scale) / scale);
    if (method != "common") template_error("round method must be 'common', 'ceil' or 'floor'");
    if (!std::isfinite(x)) return Value(x);
    if (precision >= 0) {  // correctly rounded, ties to even, like Python's round()
        char buf[512];
        std::snprintf(buf, sizeof buf, "%.*f", static_cast<int>(std::min<int64_t>(precision, 100)), x);
        return Value(std::strtod(buf, nullptr));
    }
    return Value(std::nearbyint(x * scale) / scale);
}

Value f_indent(Interpreter& in, const Value& v, const CallArgs& a) {
    const Value* w = a.get("width", 0);
    std::string pad = "    ";
    if (w && w->is_int())
        pad.assign(static_cast<size_t>(std::clamp<int64_t>(w->as_int(), 0, 256)), ' ');
    else if (w && w->is_string())
        pad = w->as_string();
    bool first = flag(a, "first", 1, false);
    bool blank = flag(a, "blank", 2, false);
    std::string s = text(in, v), out;
    size_t line = 0, begin = 0;
    while (true) {
        size_t nl = s.find('\n', begin);
        std::string_view piece(s.data() + begin, (nl == std::string::npos ? s.size() : nl) - begin);
        if (line > 0) out += '\n';
        if ((line > 0 || first) && (blank || !piece.empty())) out += pad;
        out += piece;
        in.charge(pad.size());
        if (nl == std::string::npos) break;
        begin = nl + 1;
        ++line;
    }
    return in.make_string(std::move(out));
}

Value f_center(Interpreter& in, const Value& v, const CallArgs& a) {
    const Value* w = a.get("width", 0);
    size_t width = w && w->is_int() ? static_cast<size_t>(std::clamp<int64_t>(w->as_int(), 0, 1 << 16)) : 80;
    std::string s = text(in, v);
    size_t len = utf8::length(s);
    if (len >= width) return in.make_string(std::move(s));
    size_t total = width - len, left = total / 2 + (total & width & 1);
    return in.make_string(std::string(left, ' ') + s + std::string(total - left, ' '));
}

Value f_wordcount(Interpreter& in, const Value& v, const CallArgs&) {
    std::string s = text(in, v);
    int64_t n = 0;
    bool in_word = false;
    for (size_t i = 0; i < s.size();) {
        char32_t c = utf8::decode(s, i);
        bool w = utf8::is_alpha(c) || utf8::is_digit(c) || c == '_';
        if (w && !in_word) ++n;
        in_word = w;
    }
    return Value(n);
}

Value sorted(Interpreter& in, const Value& v, const CallArgs& a, const char* name, bool reverse_default) {
    bool reverse = flag(a, "reverse", 0, reverse_default);
    bool case_sensitive = flag(a, "case_sensitive", 1, false);
    const Value* attr = a.get("attribute", 2);
    Array items = iterate(v, name);
    in.tick(items.size());
    auto key = [&](const Value& x) { return attr && !attr->is_undefined() ? lookup_attribute(x, *attr) : x; };
    std::stable_sort(items.begin(), items.end(), [&](const Value& x, const Value& y) {
        int c = compare_values(key(x), key(y), case_sensitive);
        return reverse ? c > 0 : c < 0;
    });
    return Value(std::move(items));
}

Value f_sort(Interpreter& in, const Value& v, const CallArgs& a) {
    return sorted(in, v, a, "sort", false);
}

Value f_dictsort(Interpreter& in, const Value& v, const CallArgs& a) {
    if (!v.is_object()) template_error(fmt::format("dictsort needs a dict, not a {} value", v.type_name()));
    bool case_sensitive = flag(a, "case_sensitive", 0, false);
    const Value* by = a.get("by", 1);
    bool reverse = flag(a, "reverse", 2, false);
    size_t pos = 0;
    if (by && by->is_string()) {
        if (by->as_string() == "value")
            pos = 1;
        else if (by->as_string() != "key")
            template_error("dictsort: 'by' must be 'key' or 'value'");
    }
    Array items;
    for (const auto& [k, x] : v.as_object().items()) items.emplace_back(Array{Value(k), x});
    in.tick(items.size());
    std::stable_sort(items.begin(), items.end(), [&](const Value& x, const Value& y) {
        int c = compare_values(x.as_array()[pos], y.as_array()[pos], case_sensitive);
        return reverse ? c > 0 : c < 0;
    });
    return Value(std::move(items));
}

Value f_unique(Interpreter& in, const Value& v, const CallArgs& a) {
    bool case_sensitive = flag(a, "case_sensitive", 0, false);
    const Value* attr = a.get("attribute", 1);
    Array out;
    std::vector<Value> seen;
    for (const auto& x : iterate(v, "unique")) {
        Value k = attr && !attr->is_undefined() ? lookup_attribute(x, *attr) : x;
        if (!case_sensitive && k.is_string()) k = Value(utf8::to_lower(k.as_string()));
        bool dup = false;
        for (const auto& s : seen) {
            if (values_equal(s, k)) {
                dup = true;
                break;
            }
        }
        if (!dup) {
            seen.push_back(k);
            out.push_back(x);
        }
    }
    return Value(std::move(out));
}

Value extreme(Interpreter& in, const Value& v, const CallArgs& a, bool want_max) {
    bool case_sensitive = flag(a, "case_sensitive", 0, false);
    const Value* attr = a.get("attribute", 1);
    Array items = iterate(v, want_max ? "max" : "min");
    in.tick(items.size());
    if (items.empty()) return Value();
    auto key = [&](const Value& x) { return attr && !attr->is_undefined() ? lookup_attribute(x, *attr) : x; };
    size_t best = 0;
    for (size_t i = 1; i < items.size(); ++i) {
        int c = compare_values(key(items[i]), key(items[best]), case_sensitive);
        if (want_max ? c > 0 : c < 0) best = i;
    }
    return items[best];
}

Value f_max(Interpreter& in, const Value& v, const CallArgs& a) {
    return extreme(in, v, a, true);
}
Value f_min(Interpreter& in, const Value& v, const CallArgs& a) {
    return extreme(in, v, a, false);
}

Value f_sum(Interpreter& in, const Value& v, const CallArgs& a) {
    const Value* attr = a.get("attribute", 0);
    const Value* start = a.get("start", 1);
    Value total = start ? *start : Value(int64_t{0});
    for (const auto& x : iterate(v, "sum"))
        total = binary_operator(in, ast::BinaryOp::add, total,
                                attr && !attr->is_undefined() ? lookup_attribute(x, *attr) : x);
    return total;
}

Value f_map(Interpreter& in, const Value& v, const CallArgs& a) {
    Array out;
    if (const Value* attr = a.kw("attribute")) {
        const Value* dflt = a.kw("default");
        for (const auto& x : iterate(v, "map")) {
            Value r = lookup_attribute(x, *attr);
            out.push_back(r.is_undefined() && dflt ? *dflt : r);
        }
        return Value(std::move(out));
    }
    if (a.positional.empty() || !a.positional[0].is_string())
        template_error("map needs a filter name or attribute=");
    std::string name = a.positional[0].as_string();
    CallArgs rest;
    rest.positional.assign(a.positional.begin() + 1, a.positional.end());
    rest.keyword = a.keyword;
    for (const auto& x : iterate(v, "map")) out.push_back(apply_filter(in, name, x, rest));
    return Value(std::move(out));
}

Value select_items(Interpreter& in, const Value& v, const CallArgs& a, bool by_attr, bool keep) {
    size_t first_test_arg = by_attr ? 1 : 0;
    const Value* attr = by_attr ? a.get("attribute", 0) : nullptr;
    if (by_attr && !attr) template_error("selectattr/rejectattr need an attribute name");
    const Value* test = first_test_arg < a.positional.size() ? &a.positional[first_test_arg] : nullptr;
    if (test && !test->is_string()) template_error("the test name must be a string");
    CallArgs test_args;
    if (test)
        test_args.positional.assign(a.positional.begin() + static_cast<long>(first_test_arg) + 1,
                                    a.positional.end());
    Array out;
    for (const auto& x : iterate(v, by_attr ? "selectattr" : "select")) {
        Value subject = by_attr ? lookup_attribute(x, *attr) : x;
        bool pass = test ? apply_test(in, test->as_string(), subject, test_args) : subject.truthy();
        if (pass == keep) out.push_back(x);
    }
    return Value(std::move(out));
}

Value f_select(Interpreter& in, const Value& v, const CallArgs& a) {
    return select_items(in, v, a, false, true);
}
Value f_reject(Interpreter& in, const Value& v, const CallArgs& a) {
    return select_items(in, v, a, false, false);
}
Value f_selectattr(Interpreter& in, const Value& v, const CallArgs& a) {
    return select_items(in, v, a, true, true);
}
Value f_rejectattr(Interpreter& in, const Value& v, const CallArgs& a) {
    return select_items(in, v, a, true, false);
}

Value f_format(Interpreter& in, const Value& v, const CallArgs& a) {
    // printf-style formatting: %s %d %i %f %r %% with optional width and precision.
    std::string fmt_s = text(in, v), out;
    size_t arg = 0;
    for (size_t i = 0; i < fmt_s.size(); ++i) {
        if (fmt_s[i] != '%') {
            out += fmt_s[i];
            continue;
        }
        size_t j = i + 1;
        std::string spec = "%";
        while (j < fmt_s.size() &&
               std::string_view("-+ 0#.0123456789").find(fmt_s[j]) != std::string_view::npos)
            spec += fmt_s[j++];
        if (j >= fmt_s.size()) template_error("format: incomplete format specifier");
        char conv = fmt_s[j];
        i = j;
        if (conv == '%') {
            out += '%';
            continue;
        }
        if (arg >= a.positional.size()) template_error("format: not enough arguments for format string");
        const Value& x = a.positional[arg++];
        if (spec.size() > 12) template_error("format: format specifier too long");
        char buf[512];
        if (conv == 's' || conv == 'r') {
            std::string s = text(in, x);
            if (spec == "%")
                out += s;
            else {
                std::snprintf(buf, sizeof buf, (spec + "s").c_str(), s.substr(0, 400).c_str());
                out += buf;
            }
        } else if (conv == 'd' || conv == 'i') {
            Value n = to_int(x, Value(), 10);
            if (n.is_undefined()) template_error("format: %d needs a number");
            std::snprintf(buf, sizeof buf, (spec + "lld").c_str(), static_cast<long long>(n.as_int()));
            out += buf;
        } else if (conv == 'f' || conv == 'e' || conv == 'g') {
            if (!x.is_number() && !x.is_bool()) template_error("format: %f needs a number");
            std::snprintf(buf, sizeof buf, (spec + conv).c_str(),
                          x.is_bool() ? double(x.as_bool()) : x.as_number());
            out += buf;
        } else {
            template_error(fmt::format("format: unsupported conversion '%{}'", conv));
        }
        if (out.size() > in.limits().max_string_bytes) in.charge(out.size());
    }
    return in.make_string(std::move(out));
}

struct Entry {
    std::string_view name;
    Fn fn;
};

constexpr Entry kFilters[] = {
    {"abs", f_abs},
    {"bool", f_bool},
    {"capitalize", f_capitalize},
    {"center", f_center},
    {"count", f_length},
    {"d", f_default},
    {"default", f_default},
    {"dictsort", f_dictsort},
    {"e", f_escape},
    {"escape", f_escape},
    {"first", f_first},
    {"float", f_float},
    {"forceescape", f_escape},
    {"format", f_format},
    {"indent", f_indent},
    {"int", f_int},
    {"items", f_items},
    {"join", f_join},
    {"last", f_last},
    {"length", f_length},
    {"list", f_list},
    {"lower", f_lower},
    {"map", f_map},
    {"max", f_max},
    {"min", f_min},
    {"reject", f_reject},
    {"rejectattr", f_rejectattr},
    {"replace", f_replace},
    {"reverse", f_reverse},
    {"round", f_round},
    {"safe", f_safe},
    {"select", f_select},
    {"selectattr", f_selectattr},
    {"sort", f_sort},
    {"string", f_string},
    {"sum", f_sum},
    {"title", f_title},
    {"tojson", f_tojson},
    {"trim", f_trim},
    {"unique", f_unique},
    {"upper", f_upper},
    {"wordcount", f_wordcount},
};

Fn find_filter(std::string_view name) {
    for (const auto& e : kFilters)
        if (e.name == name) return e.fn;
    return nullptr;
}

}  // namespace

bool has_filter(std::string_view name) {
    return find_filter(name) != nullptr;
}

Value apply_filter(Interpreter& in, std::string_view name, const Value& operand, const CallArgs& args) {
    Fn fn = find_filter(name);
    if (!fn) template_error(fmt::format("unknown filter '{}'", name));
    in.tick();
    return fn(in, operand, args);
}

}  // namespace kinglet::chat
