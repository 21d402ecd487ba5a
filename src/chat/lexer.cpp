#include "chat/lexer.h"

#include <fmt/format.h>

#include "chat/utf8.h"
#include "core/error.h"

namespace kinglet::chat {

namespace {

// Text after preprocessing, with the original offset of each byte (one extra entry for the end).
struct Mapped {
    std::string text;
    std::vector<uint32_t> origin;

    void push(char c, uint32_t at) {
        text += c;
        origin.push_back(at);
    }
};

bool line_start(const std::string& s, size_t i) {
    if (i == 0) return true;
    char p = s[i - 1];
    if (p == '\n' || p == '\r') return true;
    // U+2028 / U+2029 also end lines for JavaScript's multiline ^.
    return i >= 3 && static_cast<unsigned char>(s[i - 3]) == 0xE2 &&
           static_cast<unsigned char>(s[i - 2]) == 0x80 &&
           (static_cast<unsigned char>(s[i - 1]) == 0xA8 || static_cast<unsigned char>(s[i - 1]) == 0xA9);
}

Mapped preprocess(std::string_view source) {
    Mapped in;
    size_t n = source.size();
    if (n > 0 && source[n - 1] == '\n') --n;  // a single trailing newline is dropped
    in.text.assign(source.substr(0, n));
    for (size_t i = 0; i <= n; ++i) in.origin.push_back(static_cast<uint32_t>(i));

    // lstrip_blocks: spaces and tabs from a line start up to a block or comment tag.
    Mapped a;
    for (size_t i = 0; i < in.text.size();) {
        if (line_start(in.text, i)) {
            size_t j = i;
            while (j < in.text.size() && (in.text[j] == ' ' || in.text[j] == '\t')) ++j;
            if (j > i && j + 1 < in.text.size() && in.text[j] == '{' &&
                (in.text[j + 1] == '#' || in.text[j + 1] == '%' || in.text[j + 1] == '-')) {
                i = j;
            }
        }
        a.push(in.text[i], in.origin[i]);
        ++i;
    }
    a.origin.push_back(in.origin.back());

    // trim_blocks: the newline right after a block or comment tag.
    Mapped b;
    for (size_t i = 0; i < a.text.size(); ++i) {
        if (a.text[i] == '\n' && i >= 2 && a.text[i - 1] == '}' &&
            (a.text[i - 2] == '#' || a.text[i - 2] == '%' || a.text[i - 2] == '-'))
            continue;
        b.push(a.text[i], a.origin[i]);
    }
    b.origin.push_back(a.origin.back());

    // transformers' {% generation %} / {% endgeneration %} markers render nothing.
    Mapped c;
    const std::string& t = b.text;
    for (size_t i = 0; i < t.size();) {
        if (t.compare(i, 2, "{%") == 0) {
            size_t j = i + 2;
            bool lstrip = j < t.size() && t[j] == '-';
            if (lstrip) ++j;
            while (size_t s = utf8::space_at(t, j)) j += s;
            if (t.compare(j, 3, "end") == 0 && t.compare(j + 3, 10, "generation") == 0) j += 3;
            if (t.compare(j, 10, "generation") == 0) {
                j += 10;
                while (size_t s = utf8::space_at(t, j)) j += s;
                bool rstrip = j < t.size() && t[j] == '-';
                if (rstrip) ++j;
                if (t.compare(j, 2, "%}") == 0) {
                    j += 2;
                    if (lstrip) {
                        std::string kept = utf8::trim(c.text, false, true);
                        c.text.resize(kept.size());
                        c.origin.resize(kept.size());
                    }
                    if (rstrip)
                        while (size_t s = utf8::space_at(t, j)) j += s;
                    i = j;
                    continue;
                }
            }
        }
        c.push(t[i], b.origin[i]);
        ++i;
    }
    c.origin.push_back(b.origin.back());
    return c;
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}
bool is_word(char c) {
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

class Lexer {
  public:
    Lexer(std::string_view original, Mapped m) : original_(original), m_(std::move(m)), s_(m_.text) {}

    std::vector<Token> run() {
        while (pos_ < s_.size()) step();
        return std::move(tokens_);
    }

  private:
    std::string_view original_;
    Mapped m_;
    const std::string& s_;
    size_t pos_ = 0;
    int curly_ = 0;
    std::vector<Token> tokens_;

    [[noreturn]] void error(size_t at, const std::string& what) {
        uint32_t off = m_.origin[std::min(at, m_.origin.size() - 1)];
        fail(Errc::invalid_argument, "chat template syntax error at {}: {}",
             describe_position(original_, off), what);
    }

    bool at(std::string_view lit) const { return s_.compare(pos_, lit.size(), lit) == 0; }
    void push(Tok t, std::string v, size_t start) {
        tokens_.push_back(Token{t, std::move(v), m_.origin[start]});
    }
    bool last_is(Tok t) const { return !tokens_.empty() && tokens_.back().type == t; }

    void strip_trailing_whitespace() {
        if (!last_is(Tok::text)) return;
        auto& v = tokens_.back().value;
        v = utf8::trim(v, false, true);
        if (v.empty()) tokens_.pop_back();
    }
    void skip_leading_whitespace() {
        while (size_t n = utf8::space_at(s_, pos_)) pos_ += n;
    }

    void step() {
        if (tokens_.empty() || last_is(Tok::close_statement) || last_is(Tok::close_expression) ||
            last_is(Tok::comment)) {
            size_t start = pos_;
            while (pos_ < s_.size() && !(s_[pos_] == '{' && pos_ + 1 < s_.size() &&
                                         (s_[pos_ + 1] == '%' || s_[pos_ + 1] == '{' || s_[pos_ + 1] == '#')))
                ++pos_;
            if (pos_ > start) {
                push(Tok::text, s_.substr(start, pos_ - start), start);
                return;
            }
        }
        if (at("{#")) {
            size_t start = pos_;
            pos_ += 2;
            bool strip_before = pos_ < s_.size() && s_[pos_] == '-';
            if (strip_before) ++pos_;
            size_t body = pos_;
            while (!(pos_ + 1 < s_.size() && s_[pos_] == '#' && s_[pos_ + 1] == '}')) {
                if (pos_ + 2 >= s_.size()) error(start, "comment is not closed with #}");
                ++pos_;
            }
            std::string comment = s_.substr(body, pos_ - body);
            bool strip_after = !comment.empty() && comment.back() == '-';
            if (strip_before) strip_trailing_whitespace();
            push(Tok::comment, "", start);
            pos_ += 2;
            if (strip_after) skip_leading_whitespace();
            return;
        }
        if (at("{%-")) {
            strip_trailing_whitespace();
            push(Tok::open_statement, "{%", pos_);
            pos_ += 3;
            return;
        }
        if (at("{{-")) {
            strip_trailing_whitespace();
            push(Tok::open_expression, "{{", pos_);
            curly_ = 0;
            pos_ += 3;
            return;
        }
        skip_leading_whitespace();
        if (pos_ >= s_.size()) error(pos_, "unexpected end of template inside a tag");
        if (at("-%}")) {
            push(Tok::close_statement, "%}", pos_);
            pos_ += 3;
            skip_leading_whitespace();
            return;
        }
        if (at("-}}")) {
            push(Tok::close_expression, "}}", pos_);
            pos_ += 3;
            skip_leading_whitespace();
            return;
        }
        char c = s_[pos_];
        if (c == '-' || c == '+') {
            if (tokens_.empty() || last_is(Tok::text))
                error(pos_, fmt::format("unexpected character '{}'", c));
            Tok lt = tokens_.back().type;
            bool binary = lt == Tok::identifier || lt == Tok::number || lt == Tok::string ||
                          lt == Tok::close_paren || lt == Tok::close_bracket;
            if (!binary) {
                size_t start = pos_++;
                std::string num = digits();
                if (!num.empty() && pos_ + 1 < s_.size() && s_[pos_] == '.' && is_digit(s_[pos_ + 1])) {
                    ++pos_;
                    num += "." + digits();
                }
                if (num.empty())
                    push(Tok::unary, std::string(1, c), start);
                else
                    push(Tok::number, std::string(1, c) + num, start);
                return;
            }
        }
        static const std::pair<std::string_view, Tok> table[] = {
            {"{%", Tok::open_statement},
            {"%}", Tok::close_statement},
            {"{{", Tok::open_expression},
            {"}}", Tok::close_expression},
            {"(", Tok::open_paren},
            {")", Tok::close_paren},
            {"{", Tok::open_brace},
            {"}", Tok::close_brace},
            {"[", Tok::open_bracket},
            {"]", Tok::close_bracket},
            {",", Tok::comma},
            {".", Tok::dot},
            {":", Tok::colon},
            {"|", Tok::pipe},
            {"<=", Tok::comparison},
            {">=", Tok::comparison},
            {"==", Tok::comparison},
            {"!=", Tok::comparison},
            {"<", Tok::comparison},
            {">", Tok::comparison},
            {"+", Tok::additive},
            {"-", Tok::additive},
            {"~", Tok::additive},
            {"**", Tok::power},
            {"*", Tok::multiplicative},
            {"//", Tok::multiplicative},
            {"/", Tok::multiplicative},
            {"%", Tok::multiplicative},
            {"=", Tok::equals},
        };
        for (const auto& [seq, type] : table) {
            if (seq == "}}" && curly_ > 0) continue;
            if (at(seq)) {
                push(type, std::string(seq), pos_);
                if (type == Tok::open_expression)
                    curly_ = 0;
                else if (type == Tok::open_brace)
                    ++curly_;
                else if (type == Tok::close_brace)
                    --curly_;
                pos_ += seq.size();
                return;
            }
        }
        if (c == '\'' || c == '"') {
            size_t start = pos_++;
            push(Tok::string, string_body(c, start), start);
            return;
        }
        if (is_digit(c)) {
            size_t start = pos_;
            std::string num = digits();
            if (!last_is(Tok::dot) && pos_ + 1 < s_.size() && s_[pos_] == '.' && is_digit(s_[pos_ + 1])) {
                ++pos_;
                num += "." + digits();
            }
            push(Tok::number, num, start);
            return;
        }
        if (is_word(c)) {
            size_t start = pos_;
            while (pos_ < s_.size() && is_word(s_[pos_])) ++pos_;
            push(Tok::identifier, s_.substr(start, pos_ - start), start);
            return;
        }
        error(pos_, fmt::format("unexpected character '{}'", c));
    }

    std::string digits() {
        size_t start = pos_;
        while (pos_ < s_.size() && is_digit(s_[pos_])) ++pos_;
        return s_.substr(start, pos_ - start);
    }

    unsigned hex(size_t at, size_t len) {
        if (at + len > s_.size()) error(at, "truncated escape sequence");
        unsigned v = 0;
        for (size_t i = 0; i < len; ++i) {
            char h = s_[at + i];
            int d = is_digit(h)              ? h - '0'
                    : (h >= 'a' && h <= 'f') ? h - 'a' + 10
                    : (h >= 'A' && h <= 'F') ? h - 'A' + 10
                                             : -1;
            if (d < 0) error(at, "invalid hexadecimal escape sequence");
            v = v * 16 + static_cast<unsigned>(d);
        }
        return v;
    }

    std::string string_body(char quote, size_t start) {
        std::string out;
        while (true) {
            if (pos_ >= s_.size()) error(start, "string literal is not closed");
            char c = s_[pos_];
            if (c == quote) {
                ++pos_;
                return out;
            }
            if (c != '\\') {
                out += c;
                ++pos_;
                continue;
            }
            if (pos_ + 1 >= s_.size()) error(start, "string literal is not closed");
            char e = s_[pos_ + 1];
            pos_ += 2;
            switch (e) {
                case 'n':
                    out += '\n';
                    break;
                case 't':
                    out += '\t';
                    break;
                case 'r':
                    out += '\r';
                    break;
                case 'b':
                    out += '\b';
                    break;
                case 'f':
                    out += '\f';
                    break;
                case 'v':
                    out += '\v';
                    break;
                case '\'':
                    out += '\'';
                    break;
                case '"':
                    out += '"';
                    break;
                case '\\':
                    out += '\\';
                    break;
                case 'x':
                    utf8::append(out, hex(pos_, 2));
                    pos_ += 2;
                    break;
                case 'u': {
                    char32_t cp = hex(pos_, 4);
                    pos_ += 4;
                    if (cp >= 0xD800 && cp < 0xDC00 && s_.compare(pos_, 2, "\\u") == 0) {
                        char32_t lo = hex(pos_ + 2, 4);
                        if (lo >= 0xDC00 && lo < 0xE000) {
                            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                            pos_ += 6;
                        }
                    }
                    if (cp >= 0xD800 && cp < 0xE000) cp = 0xFFFD;
                    utf8::append(out, cp);
                    break;
                }
                default:
                    // Python keeps unknown escapes as written ('\d' stays backslash-d).
                    out += '\\';
                    out += e;
            }
        }
    }
};

}  // namespace

std::string describe_position(std::string_view source, uint32_t offset) {
    size_t line = 1, col = 1;
    for (size_t i = 0; i < offset && i < source.size(); ++i) {
        if (source[i] == '\n')
            ++line, col = 1;
        else
            ++col;
    }
    return fmt::format("line {}, column {}", line, col);
}

std::vector<Token> tokenize(std::string_view source) {
    if (source.size() > UINT32_MAX / 2) fail(Errc::invalid_argument, "chat template is too large");
    return Lexer(source, preprocess(source)).run();
}

}  // namespace kinglet::chat
