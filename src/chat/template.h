// Chat templates: the Jinja programs that GGUF files carry in `tokenizer.chat_template` to turn a
// conversation into the model's prompt text.
//
// The dialect is the one Hugging Face transformers renders: jinja2's sandbox with trim_blocks and
// lstrip_blocks, loop controls (break/continue), the globals raise_exception and strftime_now, and
// a `tojson` that is json.dumps(ensure_ascii=False, indent=..., separators=..., sort_keys=...).
// Where Python's jinja2 and @huggingface/jinja (the reference the tests render with) disagree:
//  - values print as @huggingface/jinja prints them: `{{ none }}` and undefined print nothing,
//    booleans print `true`/`false`, lists and dicts print as JSON (`["a", 1]`);
//  - scoping, undefined and method semantics are Python's: a `set` inside a loop body lasts one
//    iteration, macros see the scope they were defined in, `undefined.attr` is an error,
//    `str.strip(chars)` honours chars, `%` and `//` round toward negative infinity;
//  - where @huggingface/jinja fails and Python succeeds (string comparison, `'ab' * 2`, test arguments
//    such as `is divisibleby(3)`, filters like select/map(filter)/dictsort), Python's result.
// Every render is budgeted (see Limits): a template can fail, never hang or exhaust memory.
#pragma once
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chat/interpreter.h"

namespace kinglet::chat {

namespace ast {
struct Program;
}

struct Message {
    std::string role;
    std::string content;
    // Other fields of the message (tool_calls, tool_call_id, name, reasoning_content, ...), merged
    // into it; a "content" key here replaces `content` (e.g. null for a tool-call-only reply, or a
    // list of parts).
    nlohmann::ordered_json extra = nlohmann::ordered_json::object();
};

class ChatTemplate {
  public:
    // Parses once; throws kinglet::Error(invalid_argument) naming the line and column of a syntax error.
    explicit ChatTemplate(std::string source);
    ~ChatTemplate();
    ChatTemplate(ChatTemplate&&) noexcept;
    ChatTemplate& operator=(ChatTemplate&&) noexcept;

    // Renders with `context` as the template's variables (messages, add_generation_prompt, bos_token,
    // eos_token, tools, ...). raise_exception() and runtime errors throw kinglet::Error(invalid_argument):
    // raise_exception's message as the template wrote it, other errors with the line and column.
    // Use ordered_json where key order matters (tojson prints keys in the order given); a plain json
    // context has its keys sorted. Note that nlohmann's ordered_json looks keys up linearly, so building
    // or parsing one with a huge object is quadratic; this class converts either kind in linear time.
    std::string render(const nlohmann::json& context) const;
    std::string render(const nlohmann::ordered_json& context) const;
    std::string render(const nlohmann::ordered_json& context, const RenderOptions& options) const;

    std::string apply(const std::vector<Message>& msgs, bool add_generation_prompt, const std::string& bos,
                      const std::string& eos) const;

    const std::string& source() const { return source_; }

  private:
    std::string render_with(const ScopePtr& vars, const RenderOptions& options) const;

    std::string source_;
    std::unique_ptr<ast::Program> program_;
};

// Fallback templates for model files without one, by name: chatml, llama2, llama3, gemma, phi3,
// mistral, zephyr, granite, deepseek-r1.
std::optional<std::string> builtin_template(std::string_view name);
std::vector<std::string> builtin_template_names();

}  // namespace kinglet::chat
