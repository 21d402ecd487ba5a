// UTF-8 helpers the template language needs: decoding, whitespace as JavaScript's trim() and Python's
// str.strip() see it, case mapping (utf8proc), and code-point indexing. Invalid bytes decode as
// U+FFFD one byte at a time, so no input can make these loop or read out of bounds.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace kinglet::chat::utf8 {

// Decodes the code point at s[i] and advances i past it.
char32_t decode(std::string_view s, size_t& i);
void append(std::string& out, char32_t cp);
std::vector<char32_t> code_points(std::string_view s);
std::string from_code_points(const std::vector<char32_t>& cps, size_t begin, size_t end);
size_t length(std::string_view s);

// The whitespace set of JavaScript's \s and String.prototype.trim (ASCII blanks, NBSP, U+1680,
// U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000, U+FEFF).
bool is_space(char32_t cp);
// Length in bytes of the whitespace code point starting at s[i], or 0.
size_t space_at(std::string_view s, size_t i);

std::string trim(std::string_view s, bool left, bool right);
// Python's strip(chars): removes any of the code points in `chars` from the chosen ends.
std::string strip_chars(std::string_view s, std::string_view chars, bool left, bool right);

std::string to_upper(std::string_view s);
std::string to_lower(std::string_view s);
// Python's str.title(): a cased letter after an uncased character is upper-cased, the rest lower.
std::string title(std::string_view s);
// Python's str.capitalize(): first character upper-cased, the rest lower.
std::string capitalize(std::string_view s);
bool is_cased_letter(char32_t cp);
bool is_upper(char32_t cp);
bool is_lower(char32_t cp);
bool is_alpha(char32_t cp);
bool is_digit(char32_t cp);

}  // namespace kinglet::chat::utf8
