// Validating an extracted JSON object against a JSON Schema (`kinglet eval --grader json --json-schema
// FILE`): the subset of JSON Schema (draft 7 / 2020-12) that describes the shape of an extraction —
//   type (a name or a list), enum, const, properties, required, additionalProperties (boolean or schema),
//   items (one schema for every element), minItems, maxItems, uniqueItems, minLength, maxLength (code
//   points), pattern (PCRE2, searched as JSON Schema does), minimum, maximum, exclusiveMinimum,
//   exclusiveMaximum (numbers), multipleOf, allOf, anyOf, oneOf, not, and true / false schemas;
//   annotations ($schema, $id, $comment, title, description, default, examples, format) are ignored.
// Any other keyword ($ref, if/then/else, patternProperties, ...) is refused when the schema is read:
// a keyword silently skipped would pass answers the schema forbids. Schemas nest at most 64 deep.
#pragma once
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

namespace kinglet::eval {

class JsonSchema {
public:
    // Throws Error(invalid_argument) naming the keyword's location ("#/properties/age/minimum") for an
    // unsupported keyword or a malformed value.
    explicit JsonSchema(const nlohmann::ordered_json& schema);
    ~JsonSchema();
    JsonSchema(JsonSchema&&) noexcept;
    JsonSchema& operator=(JsonSchema&&) noexcept;

    // "" when `value` is valid; else the first violation found, e.g. "$.age: 12.5 is not an integer".
    std::string violation(const nlohmann::ordered_json& value) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace kinglet::eval
