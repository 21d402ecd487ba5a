// Python methods templates call on values: str (strip, split, startswith, replace, format, ...),
// dict (get, items, keys, values) and the non-mutating list methods. The sandbox HF renders in
// refuses mutating methods (list.append, dict.update), so they are absent here too.
#include <fmt/format.h>

#include <algorithm>

#include "chat/builtins.h"
#include "chat/utf8.h"

namespace kinglet::chat {

namespace {

using Method = Value (*)(Interpreter&, const Value&, CallArgs&);

const std::string& str_arg(const CallArgs& a, std::string_view name, size_t i, const char* method) {
    const Value* v = a.get(name, i);
    if (!v || !v->is_string()) template_error(fmt::format("str.{}() needs a string argument", method));
    return v->as_string();
}

// `chars` as Python's strip family takes it: none means whitespace.
Value strip_family(Interpreter& in, const Value& self, const CallArgs& a, bool left, bool right) {
    const Value* chars = a.get("chars", 0);
    if (chars && chars->is_string())
        return in.make_string(utf8::strip_chars(self.as_string(), chars->as_string(), left, right));
    if (chars && !chars->is_none() && !chars->is_undefined())
        template_error("strip() argument must be a string or none");
    return in.make_string(utf8::trim(self.as_string(), left, right));
}

Value m_strip(Interpreter& in, const Value& s, CallArgs& a) {
    return strip_family(in, s, a, true, true);
}
Value m_lstrip(Interpreter& in, const Value& s, CallArgs& a) {
    return strip_family(in, s, a, true, false);
}
Value m_rstrip(Interpreter& in, const Value& s, CallArgs& a) {
    return strip_family(in, s, a, false, true);
}
Value m_upper(Interpreter& in, const Value& s, CallArgs&) {
    return in.make_string(utf8::to_upper(s.as_string()));
}
Value m_lower(Interpreter& in, const Value& s, CallArgs&) {
    return in.make_string(utf8::to_lower(s.as_string()));
}
Value m_title(Interpreter& in, const Value& s, CallArgs&) {
    return in.make_string(utf8::title(s.as_string()));
}
Value m_capitalize(Interpreter& in, const Value& s, CallArgs&) {
    return in.make_string(utf8::capitalize(s.as_string()));
}

Value affix(const Value& s, const CallArgs& a, bool prefix) {
    const Value* p = a.get(prefix ? "prefix" : "suffix", 0);
    if (!p) template_error(prefix ? "startswith() needs an argument" : "endswith() needs an argument");
    const std::string& self = s.as_string();
    auto test = [&](const Value& x) {
        if (!x.is_string()) template_error("startswith/endswith take a string or a tuple of strings");
        const std::string& t = x.as_string();
        if (t.size() > self.size()) return false;
        return prefix ? self.compare(0, t.size(), t) == 0
                      : self.compare(self.size() - t.size(), t.size(), t) == 0;
    };
    if (p->is_array()) {
        for (const auto& x : p->as_array())
            if (test(x)) return Value(true);
        return Value(false);
    }
    return Value(test(*p));
}
Value m_startswith(Interpreter&, const Value& s, CallArgs& a) {
    return affix(s, a, true);
}
Value m_endswith(Interpreter&, const Value& s, CallArgs& a) {
    return affix(s, a, false);
}

Value m_split(Interpreter& in, const Value& s, CallArgs& a) {
    const Value* sep = a.get("sep", 0);
    const Value* maxv = a.get("maxsplit", 1);
    int64_t maxsplit = maxv && maxv->is_int() ? maxv->as_int() : -1;
    const std::string& self = s.as_string();
    Array out;
    if (!sep || sep->is_none() || sep->is_undefined()) {
        size_t i = 0;
        while (true) {
            while (size_t n = utf8::space_at(self, i)) i += n;
            if (i >= self.size()) break;
            if (maxsplit >= 0 && static_cast<int64_t>(out.size()) >= maxsplit) {
                std::string rest = self.substr(i);
                out.push_back(in.make_string(std::move(rest)));
                break;
            }
            size_t start = i;
            while (i < self.size() && !utf8::space_at(self, i)) utf8::decode(self, i);
            out.push_back(in.make_string(self.substr(start, i - start)));
        }
    } else {
        if (!sep->is_string()) template_error("split() separator must be a string or none");
        const std::string& d = sep->as_string();
        if (d.empty()) template_error("split(): empty separator");
        size_t start = 0;
        while (true) {
            size_t at = self.find(d, start);
            if (at == std::string::npos || (maxsplit >= 0 && static_cast<int64_t>(out.size()) >= maxsplit)) {
                out.push_back(in.make_string(self.substr(start)));
                break;
            }
            out.push_back(in.make_string(self.substr(start, at - start)));
            start = at + d.size();
        }
    }
    in.check_list_size(out.size());
    return Value(std::move(out));
}

Value m_splitlines(Interpreter& in, const Value& s, CallArgs& a) {
    bool keep = a.get("keepends", 0) && a.get("keepends", 0)->truthy();
    const std::string& self = s.as_string();
    Array out;
    size_t start = 0, i = 0;
    while (i < self.size()) {
        size_t end = i;
        if (self[i] == '\r' && i + 1 < self.size() && self[i + 1] == '\n')
            i += 2;
        else if (self[i] == '\n' || self[i] == '\r' || self[i] == '\v' || self[i] == '\f')
            i += 1;
        else {
            utf8::decode(self, i);
            continue;
        }
        out.push_back(in.make_string(self.substr(start, (keep ? i : end) - start)));
        start = i;
    }
    if (start < self.size()) out.push_back(in.make_string(self.substr(start)));
    return Value(std::move(out));
}

Value m_replace(Interpreter& in, const Value& s, CallArgs& a) {
    const std::string& from = str_arg(a, "old", 0, "replace");
    const std::string& to = str_arg(a, "new", 1, "replace");
    const Value* c = a.get("count", 2);
    int64_t count = c && c->is_int() ? c->as_int() : -1;
    const std::string& self = s.as_string();
    std::string out;
    int64_t done = 0;
    auto room = [&] { return count < 0 || done < count; };
    if (from.empty()) {  // Python inserts `new` around every character
        size_t i = 0;
        while (true) {
            if (room()) {
                out += to;
                ++done;
                in.charge(to.size());
            }
            if (i >= self.size()) break;
            size_t j = i;
            utf8::decode(self, j);
            out.append(self, i, j - i);
            i = j;
        }
        return in.make_string(std::move(out));
    }
    size_t start = 0;
    while (room()) {
        size_t at = self.find(from, start);
        if (at == std::string::npos) break;
        out.append(self, start, at - start);
        out += to;
        in.charge(to.size());
        start = at + from.size();
        ++done;
    }
    out.append(self, start, std::string::npos);
    return in.make_string(std::move(out));
}

Value m_find(Interpreter&, const Value& s, CallArgs& a) {
    const std::string& sub = str_arg(a, "sub", 0, "find");
    size_t at = s.as_string().find(sub);
    if (at == std::string::npos) return Value(int64_t{-1});
    return Value(static_cast<int64_t>(utf8::length(std::string_view(s.as_string()).substr(0, at))));
}

Value m_rfind(Interpreter&, const Value& s, CallArgs& a) {
    const std::string& sub = str_arg(a, "sub", 0, "rfind");
    size_t at = s.as_string().rfind(sub);
    if (at == std::string::npos) return Value(int64_t{-1});
    return Value(static_cast<int64_t>(utf8::length(std::string_view(s.as_string()).substr(0, at))));
}

Value m_count(Interpreter&, const Value& s, CallArgs& a) {
    if (s.is_array()) {
        const Value* x = a.get("x", 0);
        if (!x) template_error("list.count() needs an argument");
        int64_t n = 0;
        for (const auto& y : s.as_array()) n += values_equal(*x, y);
        return Value(n);
    }
    const std::string& sub = str_arg(a, "sub", 0, "count");
    const std::string& self = s.as_string();
    if (sub.empty()) return Value(static_cast<int64_t>(utf8::length(self) + 1));
    int64_t n = 0;
    for (size_t at = self.find(sub); at != std::string::npos; at = self.find(sub, at + sub.size())) ++n;
    return Value(n);
}

Value m_index(Interpreter&, const Value& s, CallArgs& a) {
    const Value* x = a.get("x", 0);
    if (!x) template_error("index() needs an argument");
    const auto& items = s.as_array();
    for (size_t i = 0; i < items.size(); ++i)
        if (values_equal(*x, items[i])) return Value(static_cast<int64_t>(i));
    template_error("list.index(x): x not in list");
}

Value m_join(Interpreter& in, const Value& s, CallArgs& a) {
    const Value* items = a.get("iterable", 0);
    if (!items || !items->is_array()) template_error("str.join() needs a list of strings");
    std::string out;
    bool first = true;
    for (const auto& x : items->as_array()) {
        if (!x.is_string()) template_error("str.join(): list items must be strings");
        if (!first) out += s.as_string();
        first = false;
        out += x.as_string();
        if (out.size() > in.limits().max_string_bytes) in.charge(out.size());
    }
    return in.make_string(std::move(out));
}

template <bool (*Pred)(char32_t)>
Value all_chars(Interpreter&, const Value& s, CallArgs&) {
    auto cps = utf8::code_points(s.as_string());
    if (cps.empty()) return Value(false);
    return Value(std::all_of(cps.begin(), cps.end(), Pred));
}
bool alnum(char32_t c) {
    return utf8::is_alpha(c) || utf8::is_digit(c);
}

Value m_isupper(Interpreter&, const Value& s, CallArgs&) {
    bool cased = false;
    for (char32_t c : utf8::code_points(s.as_string())) {
        if (utf8::is_lower(c)) return Value(false);
        cased |= utf8::is_upper(c);
    }
    return Value(cased);
}
Value m_islower(Interpreter&, const Value& s, CallArgs&) {
    bool cased = false;
    for (char32_t c : utf8::code_points(s.as_string())) {
        if (utf8::is_upper(c)) return Value(false);
        cased |= utf8::is_lower(c);
    }
    return Value(cased);
}

Value m_removeprefix(Interpreter& in, const Value& s, CallArgs& a) {
    const std::string& p = str_arg(a, "prefix", 0, "removeprefix");
    const std::string& self = s.as_string();
    return self.compare(0, p.size(), p) == 0 ? in.make_string(self.substr(p.size())) : s;
}
Value m_removesuffix(Interpreter& in, const Value& s, CallArgs& a) {
    const std::string& p = str_arg(a, "suffix", 0, "removesuffix");
    const std::string& self = s.as_string();
    if (p.empty() || p.size() > self.size() || self.compare(self.size() - p.size(), p.size(), p) != 0)
        return s;
    return in.make_string(self.substr(0, self.size() - p.size()));
}

// str.format with {} / {0} / {name} fields and {{ }} escapes; format specs are not supported.
Value m_format(Interpreter& in, const Value& s, CallArgs& a) {
    const std::string& f = s.as_string();
    std::string out;
    size_t auto_index = 0;
    for (size_t i = 0; i < f.size(); ++i) {
        char c = f[i];
        if (c == '}' && i + 1 < f.size() && f[i + 1] == '}') {
            out += '}';
            ++i;
            continue;
        }
        if (c != '{') {
            out += c;
            continue;
        }
        if (i + 1 < f.size() && f[i + 1] == '{') {
            out += '{';
            ++i;
            continue;
        }
        size_t close = f.find('}', i);
        if (close == std::string::npos) template_error("str.format(): single '{' in format string");
        std::string field = f.substr(i + 1, close - i - 1);
        if (field.find_first_of(":!") != std::string::npos)
            template_error("str.format(): format specs are not supported");
        const Value* v = nullptr;
        if (field.empty()) {
            v = auto_index < a.positional.size() ? &a.positional[auto_index] : nullptr;
            ++auto_index;
        } else if (field.find_first_not_of("0123456789") == std::string::npos && field.size() < 9) {
            size_t k = std::stoul(field);
            v = k < a.positional.size() ? &a.positional[k] : nullptr;
        } else {
            v = a.kw(field);
        }
        if (!v) template_error(fmt::format("str.format(): no argument for field '{{{}}}'", field));
        out += v->is_string() ? v->as_string() : to_display_string(*v, in.limits().max_string_bytes);
        if (out.size() > in.limits().max_string_bytes) in.charge(out.size());
        i = close;
    }
    return in.make_string(std::move(out));
}

Value m_get(Interpreter&, const Value& d, CallArgs& a) {
    const Value* key = a.get("key", 0);
    if (!key) template_error("dict.get() needs a key");
    const Value* dflt = a.get("default", 1);
    if (key->is_string())
        if (const Value* v = d.as_object().find(key->as_string())) return *v;
    return dflt ? *dflt : Value::none();
}

Value m_items(Interpreter&, const Value& d, CallArgs&) {
    Array out;
    for (const auto& [k, v] : d.as_object().items()) out.emplace_back(Array{Value(k), v});
    return Value(std::move(out));
}
Value m_keys(Interpreter&, const Value& d, CallArgs&) {
    Array out;
    for (const auto& [k, v] : d.as_object().items()) out.emplace_back(k);
    return Value(std::move(out));
}
Value m_values(Interpreter&, const Value& d, CallArgs&) {
    Array out;
    for (const auto& [k, v] : d.as_object().items()) out.push_back(v);
    return Value(std::move(out));
}

struct Entry {
    std::string_view name;
    Method fn;
};

constexpr Entry kStringMethods[] = {
    {"strip", m_strip},
    {"lstrip", m_lstrip},
    {"rstrip", m_rstrip},
    {"upper", m_upper},
    {"lower", m_lower},
    {"title", m_title},
    {"capitalize", m_capitalize},
    {"startswith", m_startswith},
    {"endswith", m_endswith},
    {"split", m_split},
    {"splitlines", m_splitlines},
    {"replace", m_replace},
    {"find", m_find},
    {"rfind", m_rfind},
    {"count", m_count},
    {"join", m_join},
    {"format", m_format},
    {"isdigit", all_chars<utf8::is_digit>},
    {"isalpha", all_chars<utf8::is_alpha>},
    {"isalnum", all_chars<alnum>},
    {"isspace", all_chars<utf8::is_space>},
    {"isupper", m_isupper},
    {"islower", m_islower},
    {"removeprefix", m_removeprefix},
    {"removesuffix", m_removesuffix},
};
constexpr Entry kDictMethods[] = {{"get", m_get}, {"items", m_items}, {"keys", m_keys}, {"values", m_values}};
constexpr Entry kListMethods[] = {{"count", m_count}, {"index", m_index}};

template <size_t N>
Method find(const Entry (&table)[N], std::string_view name) {
    for (const auto& e : table)
        if (e.name == name) return e.fn;
    return nullptr;
}

}  // namespace

Value bound_method(const Value& object, std::string_view name) {
    Method m = nullptr;
    if (object.is_string())
        m = find(kStringMethods, name);
    else if (object.is_object())
        m = find(kDictMethods, name);
    else if (object.is_array())
        m = find(kListMethods, name);
    if (!m) return Value();
    return Value::function(std::string(name),
                           [m, object](Interpreter& in, CallArgs& a) { return m(in, object, a); });
}

}  // namespace kinglet::chat
