// Evaluates a parsed chat template. Semantics follow Python's jinja2 in the sandbox Hugging Face
// transformers renders with (default Undefined, loop controls), and @huggingface/jinja for how values
// print (true/false, lists and dicts as JSON) -- see docs in template.h for the differences chosen.
//
// Templates come from user-supplied model files, so everything is budgeted: evaluation steps,
// bytes of strings created, output size, list sizes and macro recursion. Exceeding a budget is an
// error, never a hang or an unbounded allocation.
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "chat/ast.h"
#include "chat/value.h"

namespace kinglet::chat {

struct Limits {
    size_t max_output_bytes = 64u << 20;    // the rendered prompt
    size_t max_string_bytes = 64u << 20;    // any one string value
    size_t max_created_bytes = 512u << 20;  // all strings built during one render
    size_t max_steps = 20'000'000;          // expression and statement evaluations
    size_t max_list_items = 1u << 20;       // range(), list repetition, concatenation
    int max_call_depth = 64;                // nested macro calls
};

struct RenderOptions {
    Limits limits;
    // The clock strftime_now() reads; unset means the system clock (local time).
    std::optional<std::chrono::system_clock::time_point> now;
};

// Thrown by raise_exception(); its message reaches the caller unchanged.
struct RaisedException {
    std::string message;
};

class Scope {
  public:
    explicit Scope(std::shared_ptr<Scope> parent = nullptr) : parent_(std::move(parent)) {}
    const Value* lookup(std::string_view name) const;
    void set(const std::string& name, Value v) { vars_[name] = std::move(v); }
    // Drops the variables; breaks the reference cycles macros make with the scope they close over.
    void clear() { vars_.clear(); }

  private:
    std::shared_ptr<Scope> parent_;
    std::unordered_map<std::string, Value> vars_;
};
using ScopePtr = std::shared_ptr<Scope>;

class Interpreter {
  public:
    Interpreter(std::string_view source, const RenderOptions& options);

    std::string render(const ast::Program& program, const ScopePtr& globals);

    // For builtins.
    const Limits& limits() const { return opts_.limits; }
    std::chrono::system_clock::time_point now() const;
    void tick(size_t steps = 1);       // charges evaluation steps
    void charge(size_t string_bytes);  // charges a newly built string
    Value make_string(std::string s);  // charges and wraps
    void check_list_size(size_t n) const;
    Value call(const Value& fn, CallArgs& args);

  private:
    enum class Flow { normal, break_loop, continue_loop };

    std::string_view source_;
    const RenderOptions& opts_;
    size_t created_ = 0;
    int call_depth_ = 0;
    std::vector<ScopePtr> captured_scopes_;  // scopes closed over by macros, cleared after a render

    Flow exec_body(const ast::Body& body, const ScopePtr& scope, std::string& out);
    Flow exec(const ast::Stmt& s, const ScopePtr& scope, std::string& out);
    void exec_for(const ast::For& s, const ScopePtr& scope, std::string& out);
    void exec_set(const ast::Set& s, const ScopePtr& scope);
    Value make_macro(const ast::Macro& m, const ScopePtr& scope);
    Value invoke_macro(const ast::Macro* m, const std::vector<ast::Param>& params, const ast::Body& body,
                       const ScopePtr& defined_in, CallArgs& args, const Value* caller);
    void append_output(std::string& out, std::string_view piece);

    Value eval(const ast::Expr& e, const ScopePtr& scope);
    Value eval_inner(const ast::Expr& e, const ScopePtr& scope);
    Value eval_binary(const ast::Binary& b, const ScopePtr& scope);
    Value eval_call(const ast::Call& c, const ScopePtr& scope);
    CallArgs eval_args(const std::vector<ast::Arg>& args, const ScopePtr& scope);
    Value attribute(const Value& obj, const std::string& name, const ast::Expr& obj_expr, bool for_call);
    Value subscript(const Value& obj, const Value& key, const ast::Expr& obj_expr);
};

}  // namespace kinglet::chat
