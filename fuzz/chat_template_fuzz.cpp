// Fuzzes chat templates: any text must parse and render against a fixed conversation, or end in
// kinglet::Error -- never a crash, a hang, unbounded memory, or an internal error.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "chat/template.h"
#include "core/error.h"

namespace {

const nlohmann::ordered_json& context() {
    static const nlohmann::ordered_json ctx = nlohmann::ordered_json::parse(R"({
        "messages": [
            {"role": "system", "content": "You are helpful."},
            {"role": "user", "content": "Hi \"there\"\n😀"},
            {"role": "assistant", "content": "<think>\nhmm\n</think>\n\nHello", "tool_calls": [
                {"id": "call12345", "type": "function",
                 "function": {"name": "f", "arguments": {"a": 1, "b": [true, null, 2.5]}}}]},
            {"role": "tool", "content": "{\"ok\": 1}", "tool_call_id": "call12345"},
            {"role": "user", "content": ""}
        ],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
        "add_generation_prompt": true, "bos_token": "<s>", "eos_token": "</s>"
    })");
    return ctx;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    kinglet::chat::RenderOptions opts;
    opts.limits.max_steps = 200'000;
    opts.limits.max_output_bytes = 1 << 20;
    opts.limits.max_string_bytes = 1 << 20;
    opts.limits.max_created_bytes = 16 << 20;
    opts.limits.max_list_items = 1 << 16;
    try {
        kinglet::chat::ChatTemplate tpl(std::string(reinterpret_cast<const char*>(data), size));
        std::string out = tpl.render(context(), opts);
        if (out.size() > opts.limits.max_output_bytes) std::abort();
    } catch (const kinglet::Error& e) {
        if (e.code() == kinglet::Errc::internal) std::abort();
    }
    return 0;
}
