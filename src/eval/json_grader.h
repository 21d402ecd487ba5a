// Grading extraction to JSON: the prediction's first JSON object against an expected object, field by
// field (exact equality of each expected field's value; extra fields in the prediction are ignored).
#pragma once
#include <string_view>

#include <nlohmann/json.hpp>

namespace kinglet::eval {

struct JsonGrade {
    bool valid = false;  // the prediction holds a JSON object
    int fields = 0;      // fields of the expected object
    int fields_correct = 0;
    bool correct = false;  // valid and every expected field equal
    nlohmann::ordered_json parsed;  // the object found (null when none)
};

// Finds the first balanced {...} in `prediction` that parses as a JSON object (models often wrap JSON in
// prose or code fences). `expected` must be an object.
JsonGrade grade_json(std::string_view prediction, const nlohmann::ordered_json& expected);

}  // namespace kinglet::eval
