// The global functions of Hugging Face's template environment: range, namespace, raise_exception,
// strftime_now, and jinja2's dict.
#include <fmt/format.h>

#include <ctime>
#include <iomanip>
#include <locale>
#include <sstream>

#include "chat/builtins.h"

namespace kinglet::chat {

namespace {

int64_t int_arg(const Value& v, const char* what) {
    if (v.is_int()) return v.as_int();
    if (v.is_bool()) return v.as_bool();
    template_error(fmt::format("range() {} must be an integer, not {}", what, v.type_name()));
}

Value range(Interpreter& in, CallArgs& a) {
    const auto& p = a.positional;
    if (p.empty() || p.size() > 3 || !a.keyword.empty())
        template_error("range() takes 1 to 3 integer arguments");
    int64_t start = 0, stop = 0, step = 1;
    if (p.size() == 1) {
        stop = int_arg(p[0], "stop");
    } else {
        start = int_arg(p[0], "start");
        stop = int_arg(p[1], "stop");
        if (p.size() == 3) step = int_arg(p[2], "step");
    }
    if (step == 0) template_error("range() step must not be zero");
    // Count the items before building any, so range(10**9) fails at once.
    __int128 span = step > 0 ? (__int128)stop - start : (__int128)start - stop;
    __int128 mag = step > 0 ? step : -(__int128)step;
    __int128 count = span <= 0 ? 0 : (span + mag - 1) / mag;
    if (count > (__int128)in.limits().max_list_items)
        template_error(fmt::format("range() of more than {} items", in.limits().max_list_items));
    Array out;
    out.reserve(static_cast<size_t>(count));
    for (int64_t i = 0; i < static_cast<int64_t>(count); ++i) out.emplace_back(start + i * step);
    in.tick(out.size());
    return Value(std::move(out));
}

Value make_namespace(Interpreter&, CallArgs& a) {
    Object o;
    if (a.positional.size() > 1) template_error("namespace() takes at most one positional argument");
    if (a.positional.size() == 1) {
        const Value& src = a.positional[0];
        if (src.is_object()) {
            for (const auto& [k, v] : src.as_object().items()) o.set(k, v);
        } else if (src.is_array()) {
            for (const auto& pair : src.as_array()) {
                if (!pair.is_array() || pair.as_array().size() != 2 || !pair.as_array()[0].is_string())
                    template_error("namespace() expects a dict or a list of [key, value] pairs");
                o.set(pair.as_array()[0].as_string(), pair.as_array()[1]);
            }
        } else {
            template_error(fmt::format("namespace() cannot be built from a {} value", src.type_name()));
        }
    }
    for (const auto& [k, v] : a.keyword) o.set(k, v);
    for (const auto& [k, v] : o.items())
        if (v.is_namespace()) template_error("a namespace cannot be stored inside a namespace");
    return Value::make_namespace(std::move(o));
}

Value make_dict(Interpreter&, CallArgs& a) {
    Object o;
    if (!a.positional.empty()) {
        if (a.positional.size() != 1 || !a.positional[0].is_object())
            template_error("dict() takes keyword arguments");
        for (const auto& [k, v] : a.positional[0].as_object().items()) o.set(k, v);
    }
    for (const auto& [k, v] : a.keyword) o.set(k, v);
    return Value(std::move(o));
}

Value raise_exception(Interpreter& in, CallArgs& a) {
    std::string msg;
    if (!a.positional.empty()) msg = to_display_string(a.positional[0], in.limits().max_string_bytes);
    throw RaisedException{msg};
}

Value strftime_now(Interpreter& in, CallArgs& a) {
    if (a.positional.size() != 1 || !a.positional[0].is_string())
        template_error("strftime_now() takes a format string");
    const std::string& f = a.positional[0].as_string();
    if (f.size() > 256) template_error("strftime_now() format is longer than 256 bytes");
    std::time_t t = std::chrono::system_clock::to_time_t(in.now());
    std::tm tm{};
    localtime_r(&t, &tm);
    std::ostringstream os;
    os.imbue(std::locale::classic());
    os << std::put_time(&tm, f.c_str());
    return in.make_string(os.str());
}

}  // namespace

void install_globals(Scope& scope) {
    scope.set("range", Value::function("range", range));
    scope.set("namespace", Value::function("namespace", make_namespace));
    scope.set("dict", Value::function("dict", make_dict));
    scope.set("raise_exception", Value::function("raise_exception", raise_exception));
    scope.set("strftime_now", Value::function("strftime_now", strftime_now));
}

}  // namespace kinglet::chat
