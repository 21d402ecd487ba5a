#include "sampling/json_schema_spec.h"

#include <set>

#include "core/error.h"

namespace kinglet {

namespace {

const std::set<std::string> kAnnotations = {"title", "description", "$schema", "$id", "$comment",
                                            "default", "examples", "format"};

bool needs_escape(const std::string& s) {
    for (unsigned char c : s)
        if (c == '"' || c == '\\' || c < 0x20) return true;
    return false;
}

// The kinds of value a first byte announces: { [ " digit-or-minus t/f n.
uint8_t first_byte_classes(uint8_t types) {
    using S = CompiledSchema;
    uint8_t c = types & (S::kObject | S::kArray | S::kString | S::kBoolean | S::kNull);
    if (types & (S::kInteger | S::kNumber)) c |= S::kNumber;
    return c;
}

class Compiler {
public:
    explicit Compiler(const nlohmann::json& root) : root_(root) {}
    CompiledSchema out;

    int node(const nlohmann::json& s, const std::string& at, int depth) {
        if (s.is_boolean()) {
            if (!s.get<bool>()) fail(Errc::invalid_argument, "{}: the schema false allows no value", at);
            return -1;
        }
        if (!s.is_object()) fail(Errc::invalid_argument, "{}: a schema must be an object or a boolean", at);
        // $ref, anyOf / oneOf / allOf stand alone (with annotations and definitions beside them).
        for (const char* k : {"$ref", "anyOf", "oneOf", "allOf"}) {
            if (!s.contains(k)) continue;
            for (const auto& [other, v] : s.items())
                if (other != k && !kAnnotations.count(other) && other != "$defs" && other != "definitions")
                    fail(Errc::invalid_argument, "{}: '{}' beside '{}' is not supported", at, other, k);
            if (std::string(k) == "$ref") return ref(s[k], at, depth);
            return combination(k, s[k], at + "/" + k, depth);
        }
        CompiledSchema::Node n;
        bool constrained = false;
        for (const auto& [k, v] : s.items()) {
            if (kAnnotations.count(k) || k == "type" || k == "properties" || k == "required" || k == "items" ||
                k == "enum" || k == "const" || k == "$defs" || k == "definitions")
                continue;
            if (k == "additionalProperties") {
                if (!v.is_boolean() && !v.is_object())
                    fail(Errc::invalid_argument, "{}/additionalProperties: expected a boolean or a schema", at);
                continue;  // see the header: listed properties only, or free-form
            }
            fail(Errc::invalid_argument, "{}/{}: the keyword '{}' is not supported in response_format schemas", at, k,
                 k);
        }
        if (s.contains("type")) {
            n.types = 0;
            const nlohmann::json& t = s["type"];
            std::vector<nlohmann::json> names = t.is_array() ? t.get<std::vector<nlohmann::json>>()
                                                             : std::vector<nlohmann::json>{t};
            for (const auto& name : names) {
                if (!name.is_string()) fail(Errc::invalid_argument, "{}/type: expected a type name or a list of them", at);
                const std::string x = name.get<std::string>();
                if (x == "object") n.types |= CompiledSchema::kObject;
                else if (x == "array") n.types |= CompiledSchema::kArray;
                else if (x == "string") n.types |= CompiledSchema::kString;
                else if (x == "integer") n.types |= CompiledSchema::kInteger;
                else if (x == "number") n.types |= CompiledSchema::kNumber;
                else if (x == "boolean") n.types |= CompiledSchema::kBoolean;
                else if (x == "null") n.types |= CompiledSchema::kNull;
                else fail(Errc::invalid_argument, "{}/type: unknown type '{}'", at, x);
            }
            if (n.types == 0) fail(Errc::invalid_argument, "{}/type: the list of types is empty", at);
            constrained = true;
        }
        if (s.contains("enum") || s.contains("const")) {
            const bool is_enum = s.contains("enum");
            const nlohmann::json values = is_enum ? s["enum"] : nlohmann::json::array({s["const"]});
            const std::string where = at + (is_enum ? "/enum" : "/const");
            if (!values.is_array() || values.empty()) fail(Errc::invalid_argument, "{}: expected a non-empty list", where);
            if (values.size() > size_t(CompiledSchema::kMaxProperties))
                fail(Errc::invalid_argument, "{}: at most {} values are supported", where, CompiledSchema::kMaxProperties);
            for (const auto& v : values) {
                if (!v.is_string()) fail(Errc::invalid_argument, "{}: only string values are supported, not {}", where, v.dump());
                std::string x = v.get<std::string>();
                if (needs_escape(x))
                    fail(Errc::invalid_argument, "{}: the value {} needs JSON escapes, which are not supported", where, v.dump());
                for (const auto& e : n.enums)
                    if (e == x) fail(Errc::invalid_argument, "{}: the value {} is listed twice", where, v.dump());
                n.enums.push_back(std::move(x));
            }
            if (!(n.types & CompiledSchema::kString))
                fail(Errc::invalid_argument, "{}: string values for a schema whose type excludes strings", where);
            n.types = CompiledSchema::kString;
            constrained = true;
        }
        if (s.contains("properties")) {
            const nlohmann::json& p = s["properties"];
            if (!p.is_object()) fail(Errc::invalid_argument, "{}/properties: expected an object", at);
            if (p.size() > size_t(CompiledSchema::kMaxProperties))
                fail(Errc::invalid_argument, "{}/properties: at most {} properties are supported", at,
                     CompiledSchema::kMaxProperties);
            n.has_properties = true;
            constrained = true;
        }
        if (s.contains("items")) {
            if (!s["items"].is_object() && !s["items"].is_boolean())
                fail(Errc::invalid_argument, "{}/items: expected one schema (tuple forms are not supported)", at);
            constrained = true;
        }
        if (s.contains("required") && !s.contains("properties"))
            fail(Errc::invalid_argument, "{}/required: needs 'properties' that give each required property a schema", at);
        if (!constrained) return -1;
        if (depth > CompiledSchema::kMaxDepth)
            fail(Errc::invalid_argument, "{}: schemas nest at most {} deep", at, CompiledSchema::kMaxDepth);
        const int id = int(out.nodes.size());
        out.nodes.push_back({});
        if (n.has_properties) {
            for (const auto& [k, v] : s["properties"].items()) {
                if (needs_escape(k))
                    fail(Errc::invalid_argument, "{}/properties: the name {} needs JSON escapes, which are not supported",
                         at, nlohmann::json(k).dump());
                n.keys.push_back(k);
                n.key_nodes.push_back(node(v, at + "/properties/" + k, depth + 1));
            }
            if (s.contains("required")) {
                const nlohmann::json& r = s["required"];
                if (!r.is_array()) fail(Errc::invalid_argument, "{}/required: expected a list of names", at);
                for (const auto& name : r) {
                    size_t i = 0;
                    while (i < n.keys.size() && !(name.is_string() && n.keys[i] == name.get<std::string>())) ++i;
                    if (i == n.keys.size())
                        fail(Errc::invalid_argument, "{}/required: {} is not one of the properties", at, name.dump());
                    n.required |= uint64_t(1) << i;
                }
            }
        }
        if (s.contains("items")) n.items = node(s["items"], at + "/items", depth + 1);
        out.nodes[size_t(id)] = std::move(n);
        return id;
    }

private:
    // A local reference ("#/$defs/Item"), compiled in place; recursion is refused.
    int ref(const nlohmann::json& r, const std::string& at, int depth) {
        if (!r.is_string()) fail(Errc::invalid_argument, "{}/$ref: expected a string", at);
        const std::string p = r.get<std::string>();
        if (p.rfind("#", 0) != 0) fail(Errc::invalid_argument, "{}/$ref: only references inside the schema (#/...) are supported", at);
        for (const auto& open : refs_)
            if (open == p) fail(Errc::invalid_argument, "{}/$ref: {} refers to itself (recursive schemas are not supported)", at, p);
        const nlohmann::json* target = nullptr;
        try {
            target = &root_.at(nlohmann::json::json_pointer(p.substr(1)));
        } catch (const nlohmann::json::exception&) {
            fail(Errc::invalid_argument, "{}/$ref: {} does not name a schema in this document", at, p);
        }
        refs_.push_back(p);
        const int id = node(*target, p, depth);
        refs_.pop_back();
        return id;
    }

    // allOf of one schema is that schema. anyOf / oneOf: branches whose values start differently
    // ({, [, ", a digit, t/f, n), so that the first byte of a value picks its branch.
    int combination(const std::string& k, const nlohmann::json& list, const std::string& at, int depth) {
        if (!list.is_array() || list.empty()) fail(Errc::invalid_argument, "{}: expected a non-empty list of schemas", at);
        if (k == "allOf") {
            if (list.size() != 1) fail(Errc::invalid_argument, "{}: only allOf of one schema is supported", at);
            return node(list[0], at + "/0", depth);
        }
        CompiledSchema::Node n;
        n.types = 0;
        uint8_t classes = 0;
        for (size_t i = 0; i < list.size(); ++i) {
            const int b = node(list[i], at + "/" + std::to_string(i), depth);
            if (b < 0) return -1;  // a branch that allows anything: so does the union
            const CompiledSchema::Node& bn = out.nodes[size_t(b)];
            if (!bn.branches.empty()) {
                for (int sub : bn.branches) n.branches.push_back(sub);
            } else {
                n.branches.push_back(b);
            }
            const uint8_t c = first_byte_classes(bn.types);
            if (c & classes)
                fail(Errc::invalid_argument,
                     "{}/{}: branches must hold different kinds of value (object, array, string, number, boolean, "
                     "null): kinglet picks the branch by the value's first character",
                     at, i);
            classes |= c;
            n.types |= bn.types;
        }
        if (depth > CompiledSchema::kMaxDepth)
            fail(Errc::invalid_argument, "{}: schemas nest at most {} deep", at, CompiledSchema::kMaxDepth);
        out.nodes.push_back(std::move(n));
        return int(out.nodes.size()) - 1;
    }

    const nlohmann::json& root_;
    std::vector<std::string> refs_;
};

}  // namespace

CompiledSchema compile_json_schema(const nlohmann::json& schema) {
    Compiler c(schema);
    c.out.root = c.node(schema, "#", 0);
    return std::move(c.out);
}

}  // namespace kinglet
