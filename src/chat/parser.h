// Parses chat-template tokens into a syntax tree. The grammar and operator precedence follow
// @huggingface/jinja (the reference the tests render with), extended where Python's jinja2 accepts
// more and real templates may use it: test arguments (`is divisibleby(3)`), `{% call %}` blocks.
// Nesting is bounded so a hostile template cannot exhaust the stack.
#pragma once
#include <string_view>
#include <vector>

#include "chat/ast.h"
#include "chat/lexer.h"

namespace kinglet::chat {

// Throws kinglet::Error(invalid_argument) naming the line and column of the first syntax error.
ast::Program parse(std::string_view source, const std::vector<Token>& tokens);

}  // namespace kinglet::chat
