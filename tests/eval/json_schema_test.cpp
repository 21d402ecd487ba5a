// JSON Schema validation of extracted objects, on hand-written schemas and values (each case states
// the keyword it exercises and whether JSON Schema says valid), the refusal of keywords outside the
// subset, and the json grader reporting schema validity per case and as a rate with an interval.
#include "eval/json_schema.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "eval/runner.h"
#include "router/provider.h"

using namespace kinglet;
using json = nlohmann::ordered_json;

namespace {
bool valid(const char* schema, const char* value) {
    return eval::JsonSchema(json::parse(schema)).violation(json::parse(value)).empty();
}
}  // namespace

TEST(JsonSchema, KeywordsByHand) {
    // type, with integer meaning a whole number (1.0 is one), and lists of types
    EXPECT_TRUE(valid(R"({"type": "integer"})", "1.0"));
    EXPECT_FALSE(valid(R"({"type": "integer"})", "1.5"));
    EXPECT_TRUE(valid(R"({"type": "number"})", "3"));
    EXPECT_FALSE(valid(R"({"type": "string"})", "3"));
    EXPECT_TRUE(valid(R"({"type": ["string", "null"]})", "null"));
    EXPECT_FALSE(valid(R"({"type": "object"})", "[]"));
    // enum and const compare numbers by value
    EXPECT_TRUE(valid(R"({"enum": ["a", 1]})", "1.0"));
    EXPECT_FALSE(valid(R"({"enum": ["a", 1]})", "\"b\""));
    EXPECT_TRUE(valid(R"({"const": {"x": [1, 2]}})", R"({"x": [1.0, 2]})"));
    // properties, required, additionalProperties
    const char* person = R"({"type": "object", "properties": {"name": {"type": "string", "minLength": 2},
                             "age": {"type": "integer", "minimum": 0, "exclusiveMaximum": 150}},
                             "required": ["name"], "additionalProperties": false})";
    EXPECT_TRUE(valid(person, R"({"name": "Ann", "age": 30})"));
    EXPECT_FALSE(valid(person, R"({"age": 30})"));                       // name required
    EXPECT_FALSE(valid(person, R"({"name": "A"})"));                     // minLength 2
    EXPECT_FALSE(valid(person, R"({"name": "Ann", "age": 150})"));       // exclusiveMaximum
    EXPECT_FALSE(valid(person, R"({"name": "Ann", "age": -1})"));        // minimum
    EXPECT_FALSE(valid(person, R"({"name": "Ann", "nick": "A"})"));      // no other property
    EXPECT_TRUE(valid(R"({"additionalProperties": {"type": "number"}})", R"({"a": 1, "b": 2.5})"));
    EXPECT_FALSE(valid(R"({"additionalProperties": {"type": "number"}})", R"({"a": "1"})"));
    // minLength counts characters, not bytes
    EXPECT_TRUE(valid(R"({"maxLength": 2})", "\"\u00e9\u00e9\""));
    // items, minItems, maxItems, uniqueItems
    EXPECT_TRUE(valid(R"({"items": {"type": "string"}, "minItems": 1, "maxItems": 2})", R"(["a", "b"])"));
    EXPECT_FALSE(valid(R"({"items": {"type": "string"}})", R"(["a", 2])"));
    EXPECT_FALSE(valid(R"({"minItems": 1})", "[]"));
    EXPECT_FALSE(valid(R"({"maxItems": 1})", "[1, 2]"));
    EXPECT_FALSE(valid(R"({"uniqueItems": true})", "[1, 1.0]"));
    // keywords of other types do not apply
    EXPECT_TRUE(valid(R"({"minimum": 5, "minLength": 3, "required": ["x"]})", "[]"));
    EXPECT_TRUE(valid(R"({"minimum": 5, "required": ["x"]})", "\"ab\""));
    // pattern is a search, not a full match
    EXPECT_TRUE(valid(R"({"pattern": "[0-9]{3}"})", "\"ticket 123 open\""));
    EXPECT_FALSE(valid(R"({"pattern": "^[0-9]+$"})", "\"12a\""));
    // multipleOf
    EXPECT_TRUE(valid(R"({"multipleOf": 0.5})", "2.5"));
    EXPECT_FALSE(valid(R"({"multipleOf": 2})", "3"));
    // allOf, anyOf, oneOf, not, boolean schemas
    EXPECT_FALSE(valid(R"({"allOf": [{"type": "integer"}, {"minimum": 3}]})", "2"));
    EXPECT_TRUE(valid(R"({"anyOf": [{"type": "string"}, {"minimum": 3}]})", "4"));
    EXPECT_FALSE(valid(R"({"oneOf": [{"type": "integer"}, {"minimum": 3}]})", "4"));  // both match
    EXPECT_TRUE(valid(R"({"oneOf": [{"type": "integer"}, {"minimum": 3}]})", "2"));
    EXPECT_FALSE(valid(R"({"not": {"type": "null"}})", "null"));
    EXPECT_TRUE(valid("true", R"({"anything": 1})"));
    EXPECT_FALSE(valid(R"({"properties": {"x": false}})", R"({"x": 1})"));
    // annotations are ignored
    EXPECT_TRUE(valid(R"({"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "t", "format": "email"})", "\"x\""));
}

TEST(JsonSchema, ViolationNamesThePath) {
    const eval::JsonSchema s(json::parse(R"({"properties": {"items": {"items": {"properties": {"qty": {"type": "integer"}}}}}})"));
    const std::string v = s.violation(json::parse(R"({"items": [{"qty": 1}, {"qty": "two"}]})"));
    EXPECT_NE(v.find("$.items[1].qty"), std::string::npos) << v;
    EXPECT_NE(v.find("integer"), std::string::npos) << v;
}

TEST(JsonSchema, RefusesWhatItCannotCheck) {
    auto message = [](const char* schema) {
        try {
            eval::JsonSchema s(json::parse(schema));
        } catch (const Error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_NE(message(R"({"properties": {"a": {"$ref": "#/defs/x"}}})").find("#/properties/a/$ref"), std::string::npos);
    EXPECT_NE(message(R"({"if": {}, "then": {}})").find("not supported"), std::string::npos);
    EXPECT_NE(message(R"({"items": [{}, {}]})").find("tuple"), std::string::npos);
    EXPECT_NE(message(R"({"type": "float"})").find("not a JSON type"), std::string::npos);
    EXPECT_NE(message(R"({"minLength": -1})").find("non-negative"), std::string::npos);
    EXPECT_NE(message(R"({"pattern": "("})").find("#/pattern"), std::string::npos);
    EXPECT_NE(message(R"({"required": "a"})").find("#/required"), std::string::npos);
    EXPECT_NE(message("3").find("a schema is an object"), std::string::npos);
}

namespace {
// A provider that answers each prompt with a fixed text.
class Scripted final : public router::Provider {
public:
    explicit Scripted(std::map<std::string, std::string> answers) : answers_(std::move(answers)) {}
    router::ProviderInfo info() const override { return {}; }
    std::unique_ptr<router::Generation> start(router::GenerationRequest req, router::GenerationCallbacks cb) override {
        router::GenerationResult r;
        r.text = answers_.at(req.prompt);
        r.prompt_tokens = 3;
        r.completion_tokens = 5;
        cb.on_done(std::move(r));
        struct None final : router::Generation {
            void cancel() override {}
        };
        return std::make_unique<None>();
    }

private:
    std::map<std::string, std::string> answers_;
};
}  // namespace

TEST(JsonSchema, GraderReportsSchemaValidityPerCaseAndAsARate) {
    const auto dir = std::filesystem::temp_directory_path() / ("kinglet_json_schema_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    {
        std::ofstream f(dir / "cases.jsonl");
        f << R"({"id": "a", "input": "a", "expected": {"name": "Ann"}})" << "\n"
          << R"({"id": "b", "input": "b", "expected": {"name": "Bo"}})" << "\n"
          << R"({"id": "c", "input": "c", "expected": {"name": "Cy"}})" << "\n"
          << R"({"id": "d", "input": "d", "expected": {"name": "Di"}})" << "\n";
    }
    auto provider = std::make_shared<Scripted>(std::map<std::string, std::string>{
        {"a", R"(Here: {"name": "Ann", "age": 3})"},   // right and valid
        {"b", R"({"name": "Bo", "age": "three"})"},    // right fields, age not an integer
        {"c", R"({"name": "Xy", "age": 1})"},          // wrong name, valid
        {"d", "no idea"}});                            // no JSON at all
    eval::TaskSpec task;
    auto target = eval::make_provider_target(eval::parse_target("server:http://unused#m"), provider, task);
    const eval::JsonSchema schema(json::parse(R"({"type": "object", "required": ["name", "age"],
                                                  "properties": {"age": {"type": "integer"}}})"));
    eval::RunSettings s;
    s.data = (dir / "cases.jsonl").string();
    s.template_source = "{{ input }}";
    s.grader = "json";
    s.schema = &schema;
    s.results = (dir / "results.jsonl").string();
    s.header = {{"test", "schema"}};
    s.quiet = true;
    const auto out = eval::run_cases({target.get()}, s);
    std::ifstream f(s.results);
    std::string line;
    std::getline(f, line);
    std::map<std::string, json> rows;
    while (std::getline(f, line)) {
        json r = json::parse(line);
        rows[r["id"]] = r;
    }
    EXPECT_EQ(rows["a"]["schema_valid"], true);
    EXPECT_EQ(rows["a"]["correct"], true);
    EXPECT_EQ(rows["b"]["schema_valid"], false);
    EXPECT_EQ(rows["b"]["correct"], true);  // field accuracy and schema validity are separate measures
    EXPECT_NE(rows["b"]["schema_error"].get<std::string>().find("$.age"), std::string::npos);
    EXPECT_EQ(rows["c"]["schema_valid"], true);
    EXPECT_EQ(rows["d"]["schema_valid"], false);
    const json sm = eval::text_summary(out.targets[0].rows, true);
    EXPECT_DOUBLE_EQ(sm["schema_valid"]["estimate"].get<double>(), 0.5);
    EXPECT_DOUBLE_EQ(sm["json_valid"]["estimate"].get<double>(), 0.75);
    EXPECT_DOUBLE_EQ(sm["accuracy"]["estimate"].get<double>(), 0.5);
    std::filesystem::remove_all(dir);
}
