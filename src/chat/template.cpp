#include "chat/template.h"

#include "chat/ast.h"
#include "chat/builtins.h"
#include "chat/lexer.h"
#include "chat/parser.h"
#include "core/error.h"

namespace kinglet::chat {

ChatTemplate::ChatTemplate(std::string source) : source_(std::move(source)) {
    program_ = std::make_unique<ast::Program>(parse(source_, tokenize(source_)));
}

ChatTemplate::~ChatTemplate() = default;
ChatTemplate::ChatTemplate(ChatTemplate&&) noexcept = default;
ChatTemplate& ChatTemplate::operator=(ChatTemplate&&) noexcept = default;

namespace {

// The template's variables: the globals, then the context's entries (which may shadow them).
template <typename Json>
ScopePtr variables(const Json& context, const RenderOptions& options) {
    if (!context.is_object() && !context.is_null())
        fail(Errc::invalid_argument, "chat template context must be a JSON object, not {}",
             context.type_name());
    auto globals = std::make_shared<Scope>();
    install_globals(*globals);
    auto vars = std::make_shared<Scope>(globals);
    try {
        WorkBudget budget(options.limits.max_steps);
        if (context.is_object())
            for (auto it = context.begin(); it != context.end(); ++it)
                vars->set(it.key(), from_json(it.value()));
    } catch (const TemplateError& e) {
        fail(Errc::invalid_argument, "chat template context: {}", e.message);
    }
    return vars;
}

}  // namespace

std::string ChatTemplate::render(const nlohmann::json& context) const {
    RenderOptions options;
    return render_with(variables(context, options), options);
}

std::string ChatTemplate::render(const nlohmann::ordered_json& context) const {
    return render(context, RenderOptions{});
}

std::string ChatTemplate::render(const nlohmann::ordered_json& context, const RenderOptions& options) const {
    return render_with(variables(context, options), options);
}

std::string ChatTemplate::render_with(const ScopePtr& vars, const RenderOptions& options) const {
    Interpreter in(source_, options);
    try {
        return in.render(*program_, vars);
    } catch (const Error&) {
        throw;
    } catch (const std::bad_alloc&) {
        fail(Errc::overloaded, "chat template: out of memory while rendering");
    } catch (const std::exception& e) {
        fail(Errc::internal, "chat template: {}", e.what());
    }
}

std::string ChatTemplate::apply(const std::vector<Message>& msgs, bool add_generation_prompt,
                                const std::string& bos, const std::string& eos) const {
    nlohmann::ordered_json ctx = nlohmann::ordered_json::object();
    auto& list = ctx["messages"] = nlohmann::ordered_json::array();
    for (const auto& m : msgs) {
        nlohmann::ordered_json j = nlohmann::ordered_json::object();
        j["role"] = m.role;
        j["content"] = m.content;
        if (m.extra.is_object())
            for (auto it = m.extra.begin(); it != m.extra.end(); ++it) j[it.key()] = it.value();
        list.push_back(std::move(j));
    }
    ctx["add_generation_prompt"] = add_generation_prompt;
    ctx["bos_token"] = bos;
    ctx["eos_token"] = eos;
    return render(ctx);
}

}  // namespace kinglet::chat
