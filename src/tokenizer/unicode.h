// UTF-8 primitives the tokenizers need: strict decoding with the "maximal subpart" rule (so every invalid
// sequence becomes exactly one U+FFFD, as the Unicode standard recommends and browsers do), NFC through
// utf8proc, and GPT-2's reversible byte <-> printable-character mapping used by byte-level BPE.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace kinglet::unicode {

inline constexpr uint32_t kReplacement = 0xFFFD;
inline constexpr std::string_view kReplacementUtf8 = "\xEF\xBF\xBD";
inline constexpr std::string_view kSpaceMarker = "\xE2\x96\x81";  // U+2581, SentencePiece's space

enum class Utf8Status {
    ok,         // a complete, valid sequence of `len` bytes
    invalid,    // `len` bytes (the maximal subpart, at least 1) can never start a valid character
    truncated,  // the `len` bytes left are a valid but incomplete start of a character
};

struct Utf8Char {
    Utf8Status status;
    uint32_t cp;  // the code point when status == ok
    size_t len;
};

// Decodes the character starting at s[pos] (pos < s.size()).
Utf8Char decode_utf8(std::string_view s, size_t pos);

// Length SentencePiece-style splitters give a character from its lead byte alone (1 for a stray
// continuation byte), clamped by the caller to the bytes available.
inline size_t utf8_len_from_lead(uint8_t c) {
    static constexpr uint8_t lookup[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return lookup[c >> 4];
}

void append_utf8(std::string& out, uint32_t cp);
bool is_valid_utf8(std::string_view s);
// Replaces every invalid sequence (and a truncated one at the end) with U+FFFD.
std::string sanitize_utf8(std::string_view s);
// Canonical composition (NFC) of valid UTF-8.
std::string nfc(std::string_view valid_utf8);

// GPT-2's byte-level alphabet: byte b is written as the UTF-8 of one printable code point.
const std::array<std::string, 256>& byte_to_symbol();
// The byte a byte-level code point stands for, or -1 if `cp` is not in the alphabet.
int symbol_to_byte(uint32_t cp);

}  // namespace kinglet::unicode
