// The library a chat template can call: filters, tests, methods on strings, dicts and lists, the
// global functions (range, namespace, raise_exception, strftime_now, dict) and the operators.
// Errors are thrown as TemplateError (the interpreter adds the template position).
#pragma once
#include <string_view>

#include "chat/ast.h"
#include "chat/interpreter.h"
#include "chat/value.h"

namespace kinglet::chat {

Value apply_filter(Interpreter& in, std::string_view name, const Value& operand, const CallArgs& args);
bool has_filter(std::string_view name);
bool apply_test(Interpreter& in, std::string_view name, const Value& operand, const CallArgs& args);
bool has_test(std::string_view name);

// `object.name` as a callable bound to `object` (str.strip, dict.items, ...), or undefined.
Value bound_method(const Value& object, std::string_view name);

void install_globals(Scope& scope);

// Python's ordering (numbers with numbers, strings with strings, lists element-wise).
int compare_values(const Value& a, const Value& b, bool case_sensitive = true);

Value binary_operator(Interpreter& in, ast::BinaryOp op, const Value& a, const Value& b);

// Python slicing of a list or string; missing bounds are undefined or none.
Value slice_value(Interpreter& in, const Value& obj, const Value& start, const Value& stop,
                  const Value& step);

}  // namespace kinglet::chat
