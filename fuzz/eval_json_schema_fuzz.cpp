// Fuzzes the JSON Schema reader and validator (eval/json_schema.h). The input is split at the first
// newline: a schema, then a value. A schema is either read or refused with kinglet::Error; a read
// schema validates any value without throwing. Anything else escaping, or a crash, is a bug.
#include <cstdint>
#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "eval/json_schema.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    const size_t nl = text.find('\n');
    const auto schema = nlohmann::ordered_json::parse(text.substr(0, nl), nullptr, false);
    const auto value = nl == std::string::npos ? nlohmann::ordered_json(nullptr)
                                               : nlohmann::ordered_json::parse(text.substr(nl + 1), nullptr, false);
    if (schema.is_discarded() || value.is_discarded()) return 0;
    try {
        const kinglet::eval::JsonSchema s(schema);
        (void)s.violation(value);
        (void)s.violation(schema);
    } catch (const kinglet::Error&) {
    }
    return 0;
}
