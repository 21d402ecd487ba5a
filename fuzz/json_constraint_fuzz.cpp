// Fuzzes JSON mode's recognizer: on any bytes it must agree with nlohmann::json's parser (a number
// beyond double's range counts as valid text, as in tests/sampling/json_constraint_test.cpp), and in
// json_object mode it may accept only what also parses as an object, and under a schema only what
// kinglet's JSON Schema validator (src/eval/json_schema) calls an instance. A disagreement aborts.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "eval/json_schema.h"
#include "sampling/json_constraint.h"

namespace {

int reference(const std::string& s) {  // 1 valid, 0 invalid; nlohmann's value kind in *object
    try {
        const nlohmann::json j = nlohmann::json::parse(s);
        return j.is_object() ? 2 : 1;
    } catch (const nlohmann::json::out_of_range&) {
        return 1;
    } catch (const nlohmann::json::exception&) {
        return 0;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size > 4096) return 0;
    const std::string text(reinterpret_cast<const char*>(data), size);
    kinglet::JsonOptions any;
    any.object_only = false;
    any.leading_ws = any.trailing_ws = true;
    any.max_ws = 0;
    any.max_newlines = -1;
    kinglet::JsonRecognizer r(any);
    const bool ours = r.feed(text) && r.complete();
    const int ref = reference(text);
    // Nesting beyond the recognizer's 64 levels is refused on purpose.
    int depth = 0, max_depth = 0;
    for (char c : text) {
        if (c == '[' || c == '{') max_depth = std::max(max_depth, ++depth);
        if (c == ']' || c == '}') --depth;
    }
    if (ours != (ref != 0) && !(ref != 0 && max_depth > 64)) abort();
    kinglet::JsonRecognizer strict;  // json_object mode
    if (strict.feed(text) && strict.complete() && ref != 2) abort();

    static const nlohmann::json schema = nlohmann::json::parse(R"({"type": "object",
        "properties": {"k": {"enum": ["a", "ab"]}, "n": {"type": ["integer", "null"]},
                       "l": {"type": "array", "items": {"type": "boolean"}}, "o": {"type": "object"}},
        "required": ["k"], "additionalProperties": false})");
    static const kinglet::CompiledSchema compiled = kinglet::compile_json_schema(schema);
    static const kinglet::eval::JsonSchema validator{nlohmann::ordered_json(schema)};
    kinglet::JsonOptions typed;
    typed.schema = &compiled;
    kinglet::JsonRecognizer s(typed);
    if (s.feed(text) && s.complete() &&
        (ref != 2 || !validator.violation(nlohmann::ordered_json::parse(text)).empty()))
        abort();
    return 0;
}
