#include "chat/value.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>

#include "chat/utf8.h"
#include "core/error.h"

namespace kinglet::chat {

namespace {

// Deeper values are refused when built, so recursive walks over them stay shallow.
constexpr uint32_t kMaxDepth = 256;

uint32_t check_depth(uint32_t d) {
    if (d > kMaxDepth) template_error(fmt::format("a value nested more than {} levels deep", kMaxDepth));
    return d;
}

thread_local WorkBudget* current_budget = nullptr;

}  // namespace

void template_error(std::string message) {
    throw TemplateError{std::move(message)};
}

WorkBudget::WorkBudget(size_t max_steps) : max_(max_steps), prev_(current_budget) {
    current_budget = this;
}
WorkBudget::~WorkBudget() {
    current_budget = prev_;
}

void spend(size_t steps) {
    WorkBudget* b = current_budget;
    if (!b) return;
    b->used_ += steps;
    if (b->used_ > b->max_)
        template_error(fmt::format("the template took more than {} evaluation steps", b->max_));
}

const Value* Object::find(std::string_view key) const {
    if (items_.size() < 16) {
        for (const auto& [k, v] : items_)
            if (k == key) return &v;
        return nullptr;
    }
    if (index_.size() != items_.size()) {
        index_.clear();
        for (size_t i = 0; i < items_.size(); ++i) index_.emplace(items_[i].first, i);
    }
    auto it = index_.find(std::string(key));
    return it == index_.end() ? nullptr : &items_[it->second].second;
}

void Object::set(std::string key, Value value) {
    if (const Value* existing = find(key)) {
        *const_cast<Value*>(existing) = std::move(value);  // find() only reads; this object is not const
        return;
    }
    append(std::move(key), std::move(value));
}

const Value* CallArgs::kw(std::string_view name) const {
    for (const auto& [k, v] : keyword)
        if (k == name) return &v;
    return nullptr;
}

const Value* CallArgs::get(std::string_view name, size_t index) const {
    if (const Value* v = kw(name)) return v;
    return index < positional.size() ? &positional[index] : nullptr;
}

struct Value::ArrBox {
    Array items;
    uint32_t depth;
};
struct Value::ObjBox {
    Object entries;
    uint32_t depth;
};
struct Value::NsBox {
    Object entries;
};

const Array& Value::as_array() const {
    return std::get<ArrPtr>(v_)->items;
}
Object& Value::namespace_entries() const {
    return std::get<NsPtr>(v_)->entries;
}
const Callable& Value::as_callable() const {
    return *std::get<FnPtr>(v_);
}

Value::Value(Array a) {
    uint32_t d = 0;
    for (const auto& x : a) d = std::max(d, x.depth());
    v_ = std::make_shared<const ArrBox>(ArrBox{std::move(a), check_depth(d + 1)});
}

Value::Value(Object o) {
    uint32_t d = 0;
    for (const auto& [k, x] : o.items()) d = std::max(d, x.depth());
    v_ = std::make_shared<const ObjBox>(ObjBox{std::move(o), check_depth(d + 1)});
}

Value Value::make_namespace(Object o) {
    Value v;
    v.v_ = std::make_shared<NsBox>(NsBox{std::move(o)});
    return v;
}

Value Value::function(std::string name, std::function<Value(Interpreter&, CallArgs&)> fn) {
    Value v;
    v.v_ = std::make_shared<const Callable>(Callable{std::move(name), std::move(fn)});
    return v;
}

const Object& Value::as_object() const {
    if (is_namespace()) return std::get<NsPtr>(v_)->entries;
    return std::get<ObjPtr>(v_)->entries;
}

const void* Value::identity() const {
    switch (type()) {
        case Type::string:
            return std::get<StrPtr>(v_).get();
        case Type::array:
            return std::get<ArrPtr>(v_).get();
        case Type::object:
            return std::get<ObjPtr>(v_).get();
        case Type::ns:
            return std::get<NsPtr>(v_).get();
        case Type::callable:
            return std::get<FnPtr>(v_).get();
        default:
            return nullptr;
    }
}

uint32_t Value::depth() const {
    switch (type()) {
        case Type::array:
            return std::get<ArrPtr>(v_)->depth;
        case Type::object:
            return std::get<ObjPtr>(v_)->depth;
        case Type::ns: {
            // Namespaces never hold namespaces (the interpreter refuses it), so this is shallow.
            uint32_t d = 0;
            for (const auto& [k, x] : namespace_entries().items()) d = std::max(d, x.depth());
            return d + 1;
        }
        default:
            return 0;
    }
}

bool Value::truthy() const {
    switch (type()) {
        case Type::undefined:
        case Type::none:
            return false;
        case Type::boolean:
            return as_bool();
        case Type::integer:
            return as_int() != 0;
        case Type::floating:
            return as_float() != 0.0;
        case Type::string:
            return !as_string().empty();
        case Type::array:
            return !as_array().empty();
        case Type::object:
            return !as_object().empty();
        case Type::ns:
        case Type::callable:
            return true;
    }
    return false;
}

const char* Value::type_name() const {
    switch (type()) {
        case Type::undefined:
            return "undefined";
        case Type::none:
            return "none";
        case Type::boolean:
            return "boolean";
        case Type::integer:
            return "integer";
        case Type::floating:
            return "float";
        case Type::string:
            return "string";
        case Type::array:
            return "list";
        case Type::object:
            return "dict";
        case Type::ns:
            return "namespace";
        case Type::callable:
            return "function";
    }
    return "?";
}

bool values_equal(const Value& a, const Value& b) {
    spend();
    auto numeric = [](const Value& v) { return v.is_number() || v.is_bool(); };
    if (numeric(a) && numeric(b)) {
        if (a.is_float() || b.is_float()) {
            auto f = [](const Value& v) { return v.is_bool() ? (v.as_bool() ? 1.0 : 0.0) : v.as_number(); };
            return f(a) == f(b);
        }
        auto i = [](const Value& v) { return v.is_bool() ? int64_t{v.as_bool()} : v.as_int(); };
        return i(a) == i(b);
    }
    if (a.type() != b.type()) return false;
    switch (a.type()) {
        case Value::Type::undefined:
        case Value::Type::none:
            return true;
        case Value::Type::string:
            return a.as_string() == b.as_string();
        case Value::Type::array: {
            const auto& x = a.as_array();
            const auto& y = b.as_array();
            if (x.size() != y.size()) return false;
            for (size_t i = 0; i < x.size(); ++i)
                if (!values_equal(x[i], y[i])) return false;
            return true;
        }
        case Value::Type::object: {
            const auto& x = a.as_object();
            const auto& y = b.as_object();
            if (x.size() != y.size()) return false;
            for (const auto& [k, v] : x.items()) {
                const Value* w = y.find(k);
                if (!w || !values_equal(v, *w)) return false;
            }
            return true;
        }
        default:
            return a.identity() == b.identity();
    }
}

std::string format_float(double d) {
    if (std::isnan(d)) return "nan";
    if (std::isinf(d)) return d < 0 ? "-inf" : "inf";
    if (d == 0) return std::signbit(d) ? "-0.0" : "0.0";
    // Shortest round-trip digits, laid out the way Python's repr() does.
    char buf[64];
    auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
    std::string s(buf, res.ptr);
    bool neg = s[0] == '-';
    if (neg) s.erase(0, 1);
    size_t e = s.find('e');
    int exp = std::stoi(s.substr(e + 1));
    std::string digits;
    for (size_t i = 0; i < e; ++i)
        if (s[i] != '.') digits += s[i];
    std::string out = neg ? "-" : "";
    if (exp < -4 || exp >= 16) {
        out += digits[0];
        if (digits.size() > 1) out += "." + digits.substr(1);
        char eb[32];
        std::snprintf(eb, sizeof eb, "e%c%02d", exp < 0 ? '-' : '+', std::abs(exp));
        return out + eb;
    }
    if (exp < 0) return out + "0." + std::string(static_cast<size_t>(-exp - 1), '0') + digits;
    size_t int_len = static_cast<size_t>(exp) + 1;
    if (digits.size() <= int_len) return out + digits + std::string(int_len - digits.size(), '0') + ".0";
    return out + digits.substr(0, int_len) + "." + digits.substr(int_len);
}

namespace {

void json_string(std::string& out, std::string_view s, bool ensure_ascii) {
    out += '"';
    size_t i = 0;
    while (i < s.size()) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        switch (c) {
            case '"':
                out += "\\\"";
                ++i;
                continue;
            case '\\':
                out += "\\\\";
                ++i;
                continue;
            case '\n':
                out += "\\n";
                ++i;
                continue;
            case '\r':
                out += "\\r";
                ++i;
                continue;
            case '\t':
                out += "\\t";
                ++i;
                continue;
            case '\b':
                out += "\\b";
                ++i;
                continue;
            case '\f':
                out += "\\f";
                ++i;
                continue;
            default:
                break;
        }
        if (c < 0x20 || (ensure_ascii && c >= 0x7f)) {
            char32_t cp = c < 0x80 ? c : utf8::decode(s, i);
            if (c < 0x80) ++i;
            auto emit = [&](unsigned u) {
                char b[16];
                std::snprintf(b, sizeof b, "\\u%04x", u);
                out += b;
            };
            if (cp >= 0x10000) {
                emit(0xD800 + ((cp - 0x10000) >> 10));
                emit(0xDC00 + ((cp - 0x10000) & 0x3FF));
            } else {
                emit(static_cast<unsigned>(cp));
            }
            continue;
        }
        out += static_cast<char>(c);
        ++i;
    }
    out += '"';
}

void dump(std::string& out, const Value& v, const JsonOptions& o, int level, bool display) {
    spend();
    if (out.size() > o.max_bytes) template_error(fmt::format("a string grew past {} bytes", o.max_bytes));
    const bool indented = o.indent >= 0;
    const std::string item_sep = o.has_separators ? o.item_separator : (indented ? "," : ", ");
    const std::string key_sep = o.has_separators ? o.key_separator : ": ";
    auto newline = [&](int lvl) {
        if (!indented) return;
        out += '\n';
        out.append(static_cast<size_t>(o.indent) * static_cast<size_t>(lvl), ' ');
    };
    switch (v.type()) {
        case Value::Type::undefined:
            out += display ? "undefined" : "null";
            return;
        case Value::Type::none:
            out += "null";
            return;
        case Value::Type::boolean:
            out += v.as_bool() ? "true" : "false";
            return;
        case Value::Type::integer:
            out += std::to_string(v.as_int());
            return;
        case Value::Type::floating: {
            double d = v.as_float();
            if (std::isnan(d))
                out += "NaN";
            else if (std::isinf(d))
                out += d < 0 ? "-Infinity" : "Infinity";
            else
                out += format_float(d);
            return;
        }
        case Value::Type::string:
            json_string(out, v.as_string(), o.ensure_ascii);
            return;
        case Value::Type::array: {
            const auto& a = v.as_array();
            if (a.empty()) {
                out += "[]";
                return;
            }
            out += '[';
            for (size_t i = 0; i < a.size(); ++i) {
                if (i) out += item_sep;
                newline(level + 1);
                dump(out, a[i], o, level + 1, display);
            }
            newline(level);
            out += ']';
            return;
        }
        case Value::Type::object:
        case Value::Type::ns: {
            const auto& obj = v.as_object();
            if (obj.empty()) {
                out += "{}";
                return;
            }
            std::vector<const std::pair<std::string, Value>*> entries;
            for (const auto& e : obj.items()) entries.push_back(&e);
            if (o.sort_keys)
                std::stable_sort(entries.begin(), entries.end(),
                                 [](auto* a, auto* b) { return a->first < b->first; });
            out += '{';
            for (size_t i = 0; i < entries.size(); ++i) {
                if (i) out += item_sep;
                newline(level + 1);
                json_string(out, entries[i]->first, o.ensure_ascii);
                out += key_sep;
                dump(out, entries[i]->second, o, level + 1, display);
            }
            newline(level);
            out += '}';
            return;
        }
        case Value::Type::callable:
            if (display) {
                out += "<function " + v.as_callable().name + ">";
                return;
            }
            fail(Errc::invalid_argument, "chat template: cannot convert a function to JSON");
    }
}

template <typename J>
Value convert(const J& j, uint32_t depth) {
    if (depth > kMaxDepth) template_error(fmt::format("a value nested more than {} levels deep", kMaxDepth));
    switch (j.type()) {
        case nlohmann::json::value_t::null:
            return Value::none();
        case nlohmann::json::value_t::boolean:
            return Value(j.template get<bool>());
        case nlohmann::json::value_t::number_integer:
            return Value(j.template get<int64_t>());
        case nlohmann::json::value_t::number_unsigned: {
            auto u = j.template get<uint64_t>();
            if (u > static_cast<uint64_t>(INT64_MAX)) return Value(static_cast<double>(u));
            return Value(static_cast<int64_t>(u));
        }
        case nlohmann::json::value_t::number_float:
            return Value(j.template get<double>());
        case nlohmann::json::value_t::string:
            return Value(j.template get<std::string>());
        case nlohmann::json::value_t::array: {
            Array a;
            a.reserve(j.size());
            for (const auto& x : j) a.push_back(convert(x, depth + 1));
            return Value(std::move(a));
        }
        case nlohmann::json::value_t::object: {
            Object o;
            o.reserve(j.size());
            for (auto it = j.begin(); it != j.end(); ++it) o.append(it.key(), convert(it.value(), depth + 1));
            return Value(std::move(o));
        }
        default:
            return Value();  // binary, discarded
    }
}

}  // namespace

std::string to_json(const Value& v, const JsonOptions& opts) {
    std::string out;
    dump(out, v, opts, 0, false);
    if (out.size() > opts.max_bytes)
        template_error(fmt::format("a string grew past {} bytes", opts.max_bytes));
    return out;
}

std::string to_display_string(const Value& v, size_t max_bytes) {
    switch (v.type()) {
        case Value::Type::undefined:
            return "";
        case Value::Type::none:
            return "None";
        case Value::Type::boolean:
            return v.as_bool() ? "true" : "false";
        case Value::Type::integer:
            return std::to_string(v.as_int());
        case Value::Type::floating:
            return format_float(v.as_float());
        case Value::Type::string:
            return v.as_string();
        default: {
            std::string out;
            JsonOptions o;
            o.max_bytes = max_bytes;
            dump(out, v, o, 0, true);
            if (out.size() > max_bytes) template_error(fmt::format("a string grew past {} bytes", max_bytes));
            return out;
        }
    }
}

Value from_json(const nlohmann::ordered_json& j) {
    return convert(j, 0);
}
Value from_json(const nlohmann::json& j) {
    return convert(j, 0);
}

}  // namespace kinglet::chat
