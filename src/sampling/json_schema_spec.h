// A JSON Schema compiled for constrained decoding (response_format json_schema, JsonRecognizer): the
// subset that fixes the shape of an answer, enforced byte by byte so that every prefix the recognizer
// accepts can still be completed into a valid instance.
//   type (a name or a list), properties, required, additionalProperties, items (one schema), enum and
//   const of strings, $ref to a schema in the same document ($defs, definitions; not recursive),
//   anyOf / oneOf whose branches hold different kinds of value (object, array, string, number,
//   boolean, null — e.g. a type or null), allOf of one schema; annotations (title, description,
//   $schema, $id, $comment, default, examples, format) are ignored.
// The constraint is never looser than the schema, sometimes stricter: an object whose schema lists
// properties gets only those (each at most once), whatever additionalProperties says; an object or
// array without properties / items is free-form. Any other keyword (minItems, pattern, anyOf, $ref,
// ...) is refused when the schema is compiled, naming its location: skipping it would let answers
// through that the schema forbids. Property names and enum values must not need JSON escapes.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace kinglet {

struct CompiledSchema {
    enum : uint8_t {
        kObject = 1, kArray = 2, kString = 4, kInteger = 8, kNumber = 16, kBoolean = 32, kNull = 64, kAny = 127
    };
    static constexpr int kMaxDepth = 15;      // nested objects / arrays with a schema
    static constexpr int kMaxProperties = 64;  // per object; also the most enum values

    struct Node {
        uint8_t types = kAny;             // kNumber admits integers too
        bool has_properties = false;      // object keys restricted to `keys`
        std::vector<std::string> keys;    // property names, in the schema's order
        std::vector<int> key_nodes;       // their schemas (-1: any value)
        uint64_t required = 0;            // bit i: keys[i] is required
        int items = -1;                   // array elements' schema (-1: any value)
        std::vector<std::string> enums;   // allowed strings (empty: any string)
        // anyOf / oneOf: the branches, which start with different bytes (types is their union)
        std::vector<int> branches;
    };
    std::vector<Node> nodes;              // nodes[root]
    int root = -1;                        // -1: the schema allows any value
};

// Throws Error(invalid_argument) naming the location ("#/properties/age/minimum") of an unsupported
// keyword or a malformed value.
CompiledSchema compile_json_schema(const nlohmann::json& schema);

}  // namespace kinglet
