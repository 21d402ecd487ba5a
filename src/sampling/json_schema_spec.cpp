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

class Compiler {
public:
    CompiledSchema out;

    int node(const nlohmann::json& s, const std::string& at, int depth) {
        if (s.is_boolean()) {
            if (!s.get<bool>()) fail(Errc::invalid_argument, "{}: the schema false allows no value", at);
            return -1;
        }
        if (!s.is_object()) fail(Errc::invalid_argument, "{}: a schema must be an object or a boolean", at);
        CompiledSchema::Node n;
        bool constrained = false;
        for (const auto& [k, v] : s.items()) {
            if (kAnnotations.count(k) || k == "type" || k == "properties" || k == "required" || k == "items" ||
                k == "enum" || k == "const")
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
};

}  // namespace

CompiledSchema compile_json_schema(const nlohmann::json& schema) {
    Compiler c;
    c.out.root = c.node(schema, "#", 0);
    return std::move(c.out);
}

}  // namespace kinglet
