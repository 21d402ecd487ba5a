#include "chat/utf8.h"

#include <utf8proc.h>

namespace kinglet::chat::utf8 {

char32_t decode(std::string_view s, size_t& i) {
    utf8proc_int32_t cp = 0;
    auto n = utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(s.data() + i),
                              static_cast<utf8proc_ssize_t>(s.size() - i), &cp);
    if (n <= 0) {
        ++i;
        return 0xFFFD;
    }
    i += static_cast<size_t>(n);
    return static_cast<char32_t>(cp);
}

void append(std::string& out, char32_t cp) {
    utf8proc_uint8_t buf[4];
    auto n = utf8proc_encode_char(static_cast<utf8proc_int32_t>(cp), buf);
    if (n <= 0) {
        append(out, 0xFFFD);
        return;
    }
    out.append(reinterpret_cast<const char*>(buf), static_cast<size_t>(n));
}

std::vector<char32_t> code_points(std::string_view s) {
    std::vector<char32_t> out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size();) out.push_back(decode(s, i));
    return out;
}

std::string from_code_points(const std::vector<char32_t>& cps, size_t begin, size_t end) {
    std::string out;
    for (size_t i = begin; i < end && i < cps.size(); ++i) append(out, cps[i]);
    return out;
}

size_t length(std::string_view s) {
    size_t n = 0;
    for (size_t i = 0; i < s.size();) {
        decode(s, i);
        ++n;
    }
    return n;
}

bool is_space(char32_t c) {
    return c == ' ' || (c >= 0x09 && c <= 0x0d) || c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200a) ||
           c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000 || c == 0xfeff;
}

size_t space_at(std::string_view s, size_t i) {
    if (i >= s.size()) return 0;
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) return is_space(c) ? 1 : 0;
    size_t j = i;
    char32_t cp = decode(s, j);
    return is_space(cp) && cp != 0xFFFD ? j - i : 0;
}

std::string trim(std::string_view s, bool left, bool right) {
    size_t b = 0, e = s.size();
    if (left)
        while (size_t n = space_at(s, b)) b += n;
    if (right) {
        // Walk forward remembering where the trailing run of whitespace began.
        size_t run = e, i = b;
        bool in_run = false;
        while (i < e) {
            if (size_t n = space_at(s, i)) {
                if (!in_run) run = i, in_run = true;
                i += n;
            } else {
                in_run = false;
                decode(s, i);
            }
        }
        if (in_run) e = run;
    }
    return std::string(s.substr(b, e - b));
}

std::string strip_chars(std::string_view s, std::string_view chars, bool left, bool right) {
    auto set = code_points(chars);
    auto cps = code_points(s);
    auto in = [&](char32_t c) {
        for (char32_t x : set)
            if (x == c) return true;
        return false;
    };
    size_t b = 0, e = cps.size();
    if (left)
        while (b < e && in(cps[b])) ++b;
    if (right)
        while (e > b && in(cps[e - 1])) --e;
    return from_code_points(cps, b, e);
}

namespace {
template <typename F>
std::string map_cps(std::string_view s, F f) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size();) append(out, f(decode(s, i)));
    return out;
}
}  // namespace

std::string to_upper(std::string_view s) {
    return map_cps(s, [](char32_t c) {
        return static_cast<char32_t>(utf8proc_toupper(static_cast<utf8proc_int32_t>(c)));
    });
}

std::string to_lower(std::string_view s) {
    return map_cps(s, [](char32_t c) {
        return static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c)));
    });
}

bool is_upper(char32_t c) {
    return utf8proc_isupper(static_cast<utf8proc_int32_t>(c));
}
bool is_lower(char32_t c) {
    return utf8proc_islower(static_cast<utf8proc_int32_t>(c));
}
bool is_cased_letter(char32_t c) {
    auto cat = utf8proc_category(static_cast<utf8proc_int32_t>(c));
    return cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LL || cat == UTF8PROC_CATEGORY_LT;
}
bool is_alpha(char32_t c) {
    auto cat = utf8proc_category(static_cast<utf8proc_int32_t>(c));
    return cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO;
}
bool is_digit(char32_t c) {
    return utf8proc_category(static_cast<utf8proc_int32_t>(c)) == UTF8PROC_CATEGORY_ND;
}

std::string title(std::string_view s) {
    std::string out;
    bool prev_cased = false;
    for (size_t i = 0; i < s.size();) {
        char32_t c = decode(s, i);
        char32_t m = prev_cased ? static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c)))
                                : static_cast<char32_t>(utf8proc_totitle(static_cast<utf8proc_int32_t>(c)));
        append(out, m);
        prev_cased = is_cased_letter(c);
    }
    return out;
}

std::string capitalize(std::string_view s) {
    std::string out;
    bool first = true;
    for (size_t i = 0; i < s.size();) {
        char32_t c = decode(s, i);
        append(out, first ? static_cast<char32_t>(utf8proc_totitle(static_cast<utf8proc_int32_t>(c)))
                          : static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c))));
        first = false;
    }
    return out;
}

}  // namespace kinglet::chat::utf8
