#include "tokenizer/unicode.h"

#include <utf8proc.h>

#include <cstdlib>
#include <memory>

#include "core/error.h"

namespace kinglet::unicode {

Utf8Char decode_utf8(std::string_view s, size_t pos) {
    const auto* p = reinterpret_cast<const uint8_t*>(s.data()) + pos;
    const size_t avail = s.size() - pos;
    const uint8_t c = p[0];
    if (c < 0x80) return {Utf8Status::ok, c, 1};
    size_t need;
    uint32_t cp;
    uint8_t lo = 0x80, hi = 0xBF;  // the allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
        need = 2, cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 3, cp = c & 0x0F;
        if (c == 0xE0) lo = 0xA0;  // overlong
        if (c == 0xED) hi = 0x9F;  // surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4, cp = c & 0x07;
        if (c == 0xF0) lo = 0x90;  // overlong
        if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
    } else {
        return {Utf8Status::invalid, 0, 1};
    }
    for (size_t i = 1; i < need; ++i) {
        if (i >= avail) return {Utf8Status::truncated, 0, i};
        const uint8_t b = p[i];
        const uint8_t l = i == 1 ? lo : 0x80, h = i == 1 ? hi : 0xBF;
        if (b < l || b > h) return {Utf8Status::invalid, 0, i};
        cp = (cp << 6) | (b & 0x3F);
    }
    return {Utf8Status::ok, cp, need};
}

void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

bool is_valid_utf8(std::string_view s) {
    for (size_t i = 0; i < s.size();) {
        Utf8Char ch = decode_utf8(s, i);
        if (ch.status != Utf8Status::ok) return false;
        i += ch.len;
    }
    return true;
}

std::string sanitize_utf8(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size();) {
        Utf8Char ch = decode_utf8(s, i);
        if (ch.status == Utf8Status::ok)
            out.append(s.substr(i, ch.len));
        else
            out += kReplacementUtf8;
        i += ch.len;
    }
    return out;
}

std::string nfc(std::string_view valid_utf8) {
    bool ascii = true;
    for (char c : valid_utf8) ascii = ascii && static_cast<unsigned char>(c) < 0x80;
    if (ascii) return std::string(valid_utf8);
    utf8proc_uint8_t* dst = nullptr;
    utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(valid_utf8.data()),
                                      static_cast<utf8proc_ssize_t>(valid_utf8.size()), &dst,
                                      static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
    if (n < 0) fail(Errc::internal, "NFC normalization failed: {}", utf8proc_errmsg(n));
    std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> guard(dst, &std::free);
    return std::string(reinterpret_cast<const char*>(dst), static_cast<size_t>(n));
}

namespace {

struct ByteLevelTables {
    std::array<std::string, 256> to_symbol;
    std::array<int16_t, 512> from_symbol;  // every symbol code point is below 324

    ByteLevelTables() {
        from_symbol.fill(-1);
        auto printable = [](int b) {
            return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
        };
        int next = 256;
        for (int b = 0; b < 256; ++b) {
            uint32_t cp = printable(b) ? static_cast<uint32_t>(b) : static_cast<uint32_t>(next++);
            append_utf8(to_symbol[b], cp);
            from_symbol[cp] = static_cast<int16_t>(b);
        }
    }
};

const ByteLevelTables& tables() {
    static const ByteLevelTables t;
    return t;
}

}  // namespace

const std::array<std::string, 256>& byte_to_symbol() {
    return tables().to_symbol;
}

int symbol_to_byte(uint32_t cp) {
    return cp < 512 ? tables().from_symbol[cp] : -1;
}

}  // namespace kinglet::unicode
