#include "eval/json_grader.h"

#include "core/error.h"

namespace kinglet::eval {

namespace {
// The end of the balanced object starting at `start` (skipping braces inside strings), or npos.
size_t object_end(std::string_view s, size_t start) {
    int depth = 0;
    bool in_str = false, esc = false;
    for (size_t i = start; i < s.size(); ++i) {
        const char c = s[i];
        if (in_str) {
            if (esc) esc = false;
            else if (c == '\\') esc = true;
            else if (c == '"') in_str = false;
            continue;
        }
        if (c == '"') in_str = true;
        else if (c == '{') ++depth;
        else if (c == '}' && --depth == 0) return i + 1;
    }
    return std::string_view::npos;
}
}  // namespace

JsonGrade grade_json(std::string_view prediction, const nlohmann::ordered_json& expected) {
    if (!expected.is_object()) fail(Errc::invalid_argument, "JSON grading needs an expected JSON object, got {}", expected.type_name());
    JsonGrade g;
    g.fields = int(expected.size());
    for (size_t pos = prediction.find('{'); pos != std::string_view::npos; pos = prediction.find('{', pos + 1)) {
        const size_t end = object_end(prediction, pos);
        if (end == std::string_view::npos) break;
        auto j = nlohmann::ordered_json::parse(prediction.substr(pos, end - pos), nullptr, false);
        if (!j.is_discarded() && j.is_object()) {
            g.valid = true;
            g.parsed = std::move(j);
            break;
        }
    }
    if (!g.valid) return g;
    for (const auto& [k, v] : expected.items())
        if (g.parsed.contains(k) && g.parsed[k] == v) ++g.fields_correct;
    g.correct = g.fields_correct == g.fields;
    return g;
}

}  // namespace kinglet::eval
