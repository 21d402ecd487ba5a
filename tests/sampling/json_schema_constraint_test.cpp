// response_format json_schema: the compiled subset and the recognizer under a schema. Soundness is
// checked against kinglet's JSON Schema validator for eval (src/eval/json_schema, written separately
// from the draft-7 texts) and nlohmann::json's parser: whatever the recognizer accepts must be valid
// for both. Completability: sampling under the constraint never reaches a state with no allowed token.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "core/error.h"
#include "eval/json_schema.h"
#include "sampling/json_constraint.h"
#include "sampling/json_test_support.h"
#include "tokenizer/fixtures.h"

namespace kinglet {
namespace {

using nlohmann::json;

const json& person_schema() {
    static const json s = json::parse(R"({
        "type": "object",
        "title": "a person",
        "properties": {
            "name": {"type": "string", "description": "full name"},
            "age": {"type": "integer"},
            "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "bb", "b"]}},
            "kind": {"enum": ["cat", "dog", "catfish"]},
            "score": {"type": ["number", "null"]},
            "ok": {"type": "boolean"},
            "meta": {"type": "object"},
            "list": {"type": "array"}
        },
        "required": ["name", "age"],
        "additionalProperties": false
    })");
    return s;
}

bool accepts(const CompiledSchema& c, const std::string& text) {
    JsonOptions o;
    o.schema = &c;
    JsonRecognizer r(o);
    return r.feed(text) && r.complete();
}

bool valid(const json& schema, const std::string& text) {
    json v;
    try {
        v = json::parse(text);
    } catch (const json::exception&) {
        return false;
    }
    return eval::JsonSchema(nlohmann::ordered_json(schema)).violation(nlohmann::ordered_json(v)).empty();
}

// The message compiling `text` fails with ("" when it compiles).
std::string error_of(const char* text) {
    try {
        compile_json_schema(json::parse(text));
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

TEST(JsonSchemaConstraint, AcceptsInstancesAndRefusesViolations) {
    const CompiledSchema c = compile_json_schema(person_schema());
    for (const char* ok : {R"({"name":"x","age":3})", R"({"age":-1,"name":""})",
                           R"({"name":"Ann","age":30,"tags":["a","bb","b"],"kind":"catfish","score":null,"ok":true})",
                           R"({"name":"x","age":3,"score":1.5e3,"meta":{"any":[1,{"z":true}]},"list":[null,"s"]})",
                           "{\n  \"name\": \"\\u00e9\\n\",\n  \"age\": 0\n}"}) {
        EXPECT_TRUE(accepts(c, ok)) << ok;
        EXPECT_TRUE(valid(person_schema(), ok)) << ok;  // the reference agrees these are instances
    }
    for (const char* bad : {R"({"name":"x"})", R"({"name":"x","age":3.5})", R"({"name":"x","age":3e1})",
                            R"({"name":"x","age":3,"extra":1})", R"({"name":"x","name":"y","age":1})",
                            R"({"name":1,"age":1})", R"({"name":"x","age":1,"kind":"cow"})",
                            R"({"name":"x","age":1,"kind":"ca"})", R"({"name":"x","age":1,"tags":["c"]})",
                            R"({"name":"x","age":1,"ok":null})", R"({"name":"x","age":1,"meta":[]})", "[]", "\"x\"",
                            R"({"nam\u0065":"x","age":1})", R"({"name":"x","age":1,})", "{}"}) {
        EXPECT_FALSE(accepts(c, bad)) << bad;
    }
    // Refused at the first byte that can no longer lead to an instance, not at the end.
    JsonOptions o;
    o.schema = &c;
    JsonRecognizer r(o);
    EXPECT_TRUE(r.feed(R"({"name":"x","age":1,"kind":"c)"));
    EXPECT_FALSE(JsonRecognizer(r).feed("o"));
    EXPECT_TRUE(JsonRecognizer(r).feed("atf"));
    EXPECT_FALSE(JsonRecognizer(r).feed("\"}"));  // "c" is not one of the values
    JsonRecognizer s(o);
    EXPECT_TRUE(s.feed(R"({"name":"x")"));
    EXPECT_FALSE(JsonRecognizer(s).feed("}"));   // age is required
    EXPECT_FALSE(JsonRecognizer(s).feed(",\"n"));  // name is written already
}

TEST(JsonSchemaConstraint, AllPropertiesWrittenLeavesOnlyTheEnd) {
    const json schema = json::parse(R"({"type":"object","properties":{"a":{"type":"boolean"}},"required":["a"]})");
    const CompiledSchema c = compile_json_schema(schema);
    JsonOptions o;
    o.schema = &c;
    JsonRecognizer r(o);
    ASSERT_TRUE(r.feed(R"({"a":true)"));
    EXPECT_FALSE(JsonRecognizer(r).feed(","));  // a comma could never be followed by a key
    EXPECT_TRUE(JsonRecognizer(r).feed("}"));
}

TEST(JsonSchemaConstraint, UnsupportedSchemasAreRefusedWithTheirLocation) {
    EXPECT_NE(error_of(R"({"type":"object","properties":{"a":{"type":"string","pattern":"^x"}}})")
                  .find("#/properties/a/pattern"), std::string::npos);
    EXPECT_NE(error_of(R"({"type":"array","minItems":1})").find("#/minItems"), std::string::npos);
    EXPECT_NE(error_of(R"({"not":{"type":"string"}})").find("#/not"), std::string::npos);
    EXPECT_NE(error_of(R"({"$ref":"#/$defs/x"})").find("$ref"), std::string::npos);
    EXPECT_NE(error_of(R"({"type":"object","properties":{},"required":["x"]})").find("\"x\""), std::string::npos);
    EXPECT_NE(error_of(R"({"enum":["a",1]})").find("only string values"), std::string::npos);
    EXPECT_NE(error_of(R"({"type":"integer","enum":["a"]})").find("excludes strings"), std::string::npos);
    EXPECT_NE(error_of(R"({"type":"object","properties":{"a\"b":{}}})").find("escapes"), std::string::npos);
    EXPECT_NE(error_of(R"({"type":"strnig"})").find("unknown type"), std::string::npos);
    EXPECT_NE(error_of("false").find("allows no value"), std::string::npos);
    EXPECT_NE(error_of(R"({"type":"array","items":[{"type":"string"}]})").find("tuple"), std::string::npos);
    EXPECT_EQ(error_of(R"({"type":"object","properties":{"a":{"type":"string","format":"date"}}})"), "");
    EXPECT_EQ(compile_json_schema(json::parse("{}")).root, -1);  // anything goes
    EXPECT_EQ(compile_json_schema(json::parse(R"({"description":"x"})")).root, -1);
}

// Random instances of the person schema (accepted), and random byte mutations of them: whatever the
// recognizer accepts must be an instance according to the reference validator.
TEST(JsonSchemaConstraint, GeneratedInstancesAcceptedMutationsNeverWronglyAccepted) {
    const CompiledSchema c = compile_json_schema(person_schema());
    std::mt19937 rng(7);
    auto pick = [&](std::vector<std::string> v) { return v[rng() % v.size()]; };
    int accepted_mutants = 0;
    for (int i = 0; i < 2000; ++i) {
        std::vector<std::string> fields = {"\"name\": " + pick({"\"\"", "\"Bo\"", "\"x\\\"y\"", "\"\\u00e9\""}),
                                           "\"age\":" + pick({"0", "-12", "7"})};
        if (rng() % 2) fields.push_back("\"tags\":[" + pick({"", "\"a\"", "\"bb\",\"b\""}) + "]");
        if (rng() % 2) fields.push_back("\"kind\": " + pick({"\"cat\"", "\"dog\"", "\"catfish\""}));
        if (rng() % 2) fields.push_back("\"score\":" + pick({"null", "1.5", "-2e-3", "4"}));
        if (rng() % 2) fields.push_back("\"meta\":" + pick({"{}", "{\"k\":[1,2]}"}));
        std::shuffle(fields.begin(), fields.end(), rng);
        std::string text = "{";
        for (size_t k = 0; k < fields.size(); ++k) text += (k ? ", " : "") + fields[k];
        text += "}";
        ASSERT_TRUE(valid(person_schema(), text)) << text;
        EXPECT_TRUE(accepts(c, text)) << text;
        const std::string alphabet = "{}[],:\" 0123456789.e-abcdefgkmnorstx";
        for (int m = 0; m < 4; ++m) {
            std::string t = text;
            test::mutate(t, rng, alphabet);
            if (accepts(c, t)) {
                ++accepted_mutants;
                EXPECT_TRUE(valid(person_schema(), t)) << "accepted a non-instance: " << t;
            }
        }
    }
    EXPECT_GT(accepted_mutants, 50);  // some mutations keep an instance (inside free strings, digits)
}

const Tokenizer& llama3() {
    static const Tokenizer tok(test::through_gguf(Vocab::from_hf_json(test::hf_tokenizer_json("llama3").string())));
    return tok;
}

TEST(JsonSchemaConstraint, SamplingNeverDeadEndsAndYieldsInstances) {
    const auto v = make_json_vocab(llama3());
    const auto schema = std::make_shared<const CompiledSchema>(compile_json_schema(person_schema()));
    const auto bias = test::bias_towards(llama3(), {"}", "]", "\"", "\"}", "\",", "\",\""}, 5.0f);
    std::vector<uint8_t> ok(static_cast<size_t>(llama3().n_vocab()));
    int finished = 0;
    for (int seed = 0; seed < 10; ++seed) {
        JsonConstraint c(v, schema);
        const std::string text = test::sample_under(llama3(), c, bias, uint64_t(seed), 160, [&](const std::string& so_far) {
            std::fill(ok.begin(), ok.end(), 0);
            v->allowed(c.state(), ok.data());
            ASSERT_NE(std::count(ok.begin(), ok.end(), 1), 0) << "no token can follow " << so_far;
        });
        ASSERT_FALSE(c.state().dead()) << text;
        if (c.complete()) {
            ++finished;
            EXPECT_TRUE(valid(person_schema(), text)) << text;
        }
    }
    EXPECT_GE(finished, 3);
}

}  // namespace
}  // namespace kinglet

namespace kinglet {
namespace {

// What Pydantic and zod write for nested models and optional fields: $defs with $ref, anyOf with null.
const json& pydantic_schema() {
    static const json s = json::parse(R"({
        "$defs": {
            "Item": {"type": "object", "title": "Item",
                     "properties": {"sku": {"type": "string"}, "qty": {"type": "integer"}},
                     "required": ["sku", "qty"], "additionalProperties": false},
            "Status": {"enum": ["open", "closed"], "type": "string", "title": "Status"}
        },
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": {"$ref": "#/$defs/Item"}},
            "status": {"$ref": "#/$defs/Status"},
            "note": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": null},
            "best": {"anyOf": [{"$ref": "#/$defs/Item"}, {"type": "null"}]},
            "either": {"oneOf": [{"type": "integer"}, {"type": "array", "items": {"type": "boolean"}}, {"enum": ["x"]}]}
        },
        "required": ["items", "status", "note", "best", "either"],
        "additionalProperties": false
    })");
    return s;
}

// The same schema with the references written out (the eval validator reads no $ref).
const json& pydantic_inlined() {
    static const json s = [] {
        json s = pydantic_schema();
        const json item = s["$defs"]["Item"], status = s["$defs"]["Status"];
        s.erase("$defs");
        s["properties"]["items"]["items"] = item;
        s["properties"]["status"] = status;
        s["properties"]["best"]["anyOf"][0] = item;
        return s;
    }();
    return s;
}

TEST(JsonSchemaConstraint, ReferencesAndUnionsOfDifferentKinds) {
    const CompiledSchema c = compile_json_schema(pydantic_schema());
    const std::vector<std::string> ok = {
        R"({"items":[],"status":"open","note":null,"best":null,"either":3})",
        R"({"items":[{"sku":"a","qty":1},{"sku":"b","qty":-2}],"status":"closed","note":"hi","best":{"sku":"c","qty":0},"either":[true,false]})",
        R"({"either":"x","best":null,"note":"","status":"open","items":[]})",
    };
    const std::vector<std::string> bad = {
        R"({"items":[{"sku":"a"}],"status":"open","note":null,"best":null,"either":3})",
        R"({"items":[],"status":"opened","note":null,"best":null,"either":3})",
        R"({"items":[],"status":"open","note":1,"best":null,"either":3})",
        R"({"items":[],"status":"open","note":null,"best":"c","either":3})",
        R"({"items":[],"status":"open","note":null,"best":null,"either":3.5})",
        R"({"items":[],"status":"open","note":null,"best":null,"either":"y"})",
        R"({"items":[],"status":"open","note":null,"best":null,"either":[1]})",
        R"({"items":[],"status":"open","note":null,"best":null})",
    };
    for (const auto& t : ok) {
        EXPECT_TRUE(accepts(c, t)) << t;
        EXPECT_TRUE(valid(pydantic_inlined(), t)) << t;
    }
    for (const auto& t : bad) {
        EXPECT_FALSE(accepts(c, t)) << t;
        EXPECT_FALSE(valid(pydantic_inlined(), t)) << t;
    }
    // Mutations: accepted only if the validator accepts them under the inlined schema.
    std::mt19937 rng(11);
    const std::string alphabet = "{}[],:\" 0123456789.-abcdeflnopqrstuxy";
    int accepted = 0;
    for (int i = 0; i < 6000; ++i) {
        std::string t = ok[size_t(i) % ok.size()];
        for (int m = int(rng() % 2) + 1; m > 0; --m) test::mutate(t, rng, alphabet);
        if (accepts(c, t)) {
            ++accepted;
            EXPECT_TRUE(valid(pydantic_inlined(), t)) << "accepted a non-instance: " << t;
        }
    }
    EXPECT_GT(accepted, 100);
}

TEST(JsonSchemaConstraint, UnionsAndReferencesItCannotEnforceAreRefused) {
    EXPECT_NE(error_of(R"({"anyOf":[{"type":"integer"},{"type":"number"}]})").find("different kinds"), std::string::npos);
    EXPECT_NE(error_of(R"({"anyOf":[{"type":"object","properties":{"a":{}}},{"type":"object"}]})").find("#/anyOf/1"),
              std::string::npos);
    EXPECT_NE(error_of(R"({"$defs":{"N":{"type":"object","properties":{"next":{"$ref":"#/$defs/N"}}}},"$ref":"#/$defs/N"})")
                  .find("recursive"), std::string::npos);
    EXPECT_NE(error_of(R"({"$ref":"#/$defs/Missing"})").find("does not name"), std::string::npos);
    EXPECT_NE(error_of(R"({"$ref":"http://example.com/s.json"})").find("inside the schema"), std::string::npos);
    EXPECT_NE(error_of(R"({"allOf":[{"type":"string"},{"enum":["a"]}]})").find("allOf of one"), std::string::npos);
    EXPECT_NE(error_of(R"({"type":"string","anyOf":[{"type":"string"}]})").find("beside"), std::string::npos);
    EXPECT_EQ(compile_json_schema(json::parse(R"({"anyOf":[{"type":"string"},{}]})")).root, -1);  // a free branch
    EXPECT_EQ(error_of(R"({"allOf":[{"$ref":"#/definitions/A"}],"definitions":{"A":{"type":"boolean"}}})"), "");
}

}  // namespace
}  // namespace kinglet
