// Turns chat-template source into tokens, with Hugging Face's environment settings applied first:
// trim_blocks and lstrip_blocks, the single trailing newline dropped, transformers' `{% generation %}`
// markers removed. Whitespace control (`{%-`, `-%}`, `{{-`, `-}}`, `{#-`, `-#}`) edits the
// surrounding text while tokenizing, as @huggingface/jinja does. Every token keeps the byte offset
// of its start in the original source so errors can name a line and column.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kinglet::chat {

enum class Tok : uint8_t {
    text,
    comment,
    number,
    string,
    identifier,
    equals,
    open_paren,
    close_paren,
    open_statement,
    close_statement,
    open_expression,
    close_expression,
    open_bracket,
    close_bracket,
    open_brace,
    close_brace,
    comma,
    dot,
    colon,
    pipe,
    additive,        // + - ~
    multiplicative,  // * / // %
    power,           // **
    comparison,      // < > <= >= == !=
    unary,           // a lone + or - that starts an operand
};

struct Token {
    Tok type;
    std::string value;
    uint32_t offset;  // in the original source
};

// "line L, column C" (1-based, columns in bytes) for an offset into `source`.
std::string describe_position(std::string_view source, uint32_t offset);

// Throws kinglet::Error(invalid_argument) with the line and column of the first lexical error.
std::vector<Token> tokenize(std::string_view source);

}  // namespace kinglet::chat
