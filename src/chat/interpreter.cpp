#include "chat/interpreter.h"

#include <fmt/format.h>

#include "chat/builtins.h"
#include "chat/lexer.h"
#include "chat/utf8.h"
#include "core/error.h"

namespace kinglet::chat {

using namespace ast;

const Value* Scope::lookup(std::string_view name) const {
    for (const Scope* s = this; s; s = s->parent_.get()) {
        if (s->vars_.empty()) continue;
        auto it = s->vars_.find(std::string(name));
        if (it != s->vars_.end()) return &it->second;
    }
    return nullptr;
}

namespace {

// A readable name for an expression in error messages: `message.tool_calls[0]`, else "value".
std::string describe(const Expr& e) {
    switch (e.kind) {
        case ExprKind::name:
            return static_cast<const Name&>(e).name;
        case ExprKind::member: {
            const auto& m = static_cast<const Member&>(e);
            return describe(*m.object) + "." + m.name;
        }
        case ExprKind::index: {
            const auto& ix = static_cast<const Index&>(e);
            std::string key = "...";
            if (ix.key->kind == ExprKind::literal) {
                const Value& k = static_cast<const Literal&>(*ix.key).value;
                key = k.is_string() ? "'" + k.as_string() + "'" : to_display_string(k);
            }
            return describe(*ix.object) + "[" + key + "]";
        }
        case ExprKind::call:
            return describe(*static_cast<const Call&>(e).callee) + "()";
        default:
            return "value";
    }
}

// A namespace may not hold a namespace: that keeps namespaces acyclic and shallow.
void check_no_namespace(const Value& v) {
    if (v.is_namespace()) template_error("a namespace cannot be stored inside a namespace");
    if (v.is_array())
        for (const auto& x : v.as_array()) check_no_namespace(x);
    if (v.is_object())
        for (const auto& [k, x] : v.as_object().items()) check_no_namespace(x);
}

}  // namespace

Interpreter::Interpreter(std::string_view source, const RenderOptions& options)
    : source_(source), opts_(options) {}

std::chrono::system_clock::time_point Interpreter::now() const {
    return opts_.now ? *opts_.now : std::chrono::system_clock::now();
}

void Interpreter::tick(size_t steps) {
    spend(steps);
}

void Interpreter::charge(size_t bytes) {
    if (bytes > opts_.limits.max_string_bytes)
        template_error(fmt::format("a string grew past {} bytes", opts_.limits.max_string_bytes));
    created_ += bytes;
    if (created_ > opts_.limits.max_created_bytes)
        template_error(
            fmt::format("the template built more than {} bytes of strings", opts_.limits.max_created_bytes));
    tick(bytes / 4096);
}

Value Interpreter::make_string(std::string s) {
    charge(s.size());
    return Value(std::move(s));
}

void Interpreter::check_list_size(size_t n) const {
    if (n > opts_.limits.max_list_items)
        template_error(fmt::format("a list grew past {} items", opts_.limits.max_list_items));
}

void Interpreter::append_output(std::string& out, std::string_view piece) {
    if (out.size() + piece.size() > opts_.limits.max_output_bytes)
        template_error(fmt::format("the rendered text grew past {} bytes", opts_.limits.max_output_bytes));
    charge(piece.size());
    out.append(piece);
}

Value Interpreter::call(const Value& fn, CallArgs& args) {
    if (!fn.is_callable()) template_error(fmt::format("a {} value is not callable", fn.type_name()));
    tick();
    return fn.as_callable().fn(*this, args);
}

std::string Interpreter::render(const Program& program, const ScopePtr& globals) {
    WorkBudget budget(opts_.limits.max_steps);
    auto top = std::make_shared<Scope>(globals);
    captured_scopes_.push_back(top);
    struct Release {
        std::vector<ScopePtr>& scopes;
        ~Release() {
            for (auto& s : scopes) s->clear();
            scopes.clear();
        }
    } release{captured_scopes_};
    std::string out;
    try {
        exec_body(program.body, top, out);
    } catch (const TemplateError& e) {
        fail(Errc::invalid_argument, "chat template error{}{}", e.positioned ? " at " : ": ", e.message);
    } catch (const RaisedException& e) {
        fail(Errc::invalid_argument, "{}", e.message);
    }
    return out;
}

// ---- statements ---------------------------------------------------------------------------

Interpreter::Flow Interpreter::exec_body(const Body& body, const ScopePtr& scope, std::string& out) {
    for (const auto& s : body) {
        Flow f = exec(*s, scope, out);
        if (f != Flow::normal) return f;
    }
    return Flow::normal;
}

Interpreter::Flow Interpreter::exec(const Stmt& s, const ScopePtr& scope, std::string& out) {
    tick();
    try {
        switch (s.kind) {
            case StmtKind::text:
                append_output(out, static_cast<const Text&>(s).text);
                break;
            case StmtKind::output: {
                Value v = eval(*static_cast<const Output&>(s).expr, scope);
                if (v.is_string())
                    append_output(out, v.as_string());
                else if (!v.is_undefined() && !v.is_none())
                    append_output(out, to_display_string(v, opts_.limits.max_output_bytes));
                break;
            }
            case StmtKind::if_: {
                const auto& i = static_cast<const If&>(s);
                return exec_body(eval(*i.cond, scope).truthy() ? i.then_body : i.else_body, scope, out);
            }
            case StmtKind::for_:
                exec_for(static_cast<const For&>(s), scope, out);
                break;
            case StmtKind::set:
                exec_set(static_cast<const Set&>(s), scope);
                break;
            case StmtKind::macro: {
                const auto& m = static_cast<const Macro&>(s);
                scope->set(m.name, make_macro(m, scope));
                break;
            }
            case StmtKind::break_:
                return Flow::break_loop;
            case StmtKind::continue_:
                return Flow::continue_loop;
            case StmtKind::filter_block: {
                const auto& f = static_cast<const FilterBlock&>(s);
                std::string body;
                exec_body(f.body, scope, body);
                CallArgs args = eval_args(f.filter->args, scope);
                Value v = apply_filter(*this, f.filter->name, make_string(std::move(body)), args);
                if (!v.is_undefined() && !v.is_none())
                    append_output(out, to_display_string(v, opts_.limits.max_output_bytes));
                break;
            }
            case StmtKind::call_block: {
                const auto& c = static_cast<const CallBlock&>(s);
                Value callee = eval(*c.call->callee, scope);
                CallArgs args = eval_args(c.call->args, scope);
                const CallBlock* node = &c;
                ScopePtr defined_in = scope;
                captured_scopes_.push_back(scope);
                Value caller = Value::function("caller", [this, node, defined_in](Interpreter&, CallArgs& a) {
                    return invoke_macro(nullptr, node->caller_params, node->body, defined_in, a, nullptr);
                });
                args.keyword.emplace_back("caller", caller);
                Value v = call(callee, args);
                if (!v.is_undefined() && !v.is_none())
                    append_output(out, to_display_string(v, opts_.limits.max_output_bytes));
                break;
            }
        }
    } catch (TemplateError& e) {
        if (!e.positioned) {
            e.message = fmt::format("{}: {}", describe_position(source_, s.offset), e.message);
            e.positioned = true;
        }
        throw;
    }
    return Flow::normal;
}

void Interpreter::exec_for(const For& s, const ScopePtr& scope, std::string& out) {
    Value iterable = eval(*s.iterable, scope);
    Array built;  // the items when they are not already a list
    const Array* items = &built;
    switch (iterable.type()) {
        case Value::Type::array:
            items = &iterable.as_array();
            break;
        case Value::Type::object:
            for (const auto& [k, v] : iterable.as_object().items()) built.emplace_back(k);
            break;
        case Value::Type::string:
            for (char32_t cp : utf8::code_points(iterable.as_string())) {
                std::string ch;
                utf8::append(ch, cp);
                built.emplace_back(std::move(ch));
            }
            break;
        case Value::Type::undefined:
            break;  // iterating an undefined value yields nothing
        default:
            template_error(
                fmt::format("cannot loop over a {} value ({})", iterable.type_name(), describe(*s.iterable)));
    }
    auto bind = [&](const ScopePtr& target, const Value& item) {
        if (!s.unpack) {
            target->set(s.targets[0], item);
            return;
        }
        if (!item.is_array())
            template_error(fmt::format("cannot unpack a {} value into loop variables", item.type_name()));
        const auto& parts = item.as_array();
        if (parts.size() != s.targets.size())
            template_error(fmt::format("cannot unpack {} values into {} loop variables", parts.size(),
                                       s.targets.size()));
        for (size_t i = 0; i < parts.size(); ++i) target->set(s.targets[i], parts[i]);
    };
    if (s.filter) {
        Array kept;
        for (const auto& item : *items) {
            auto probe = std::make_shared<Scope>(scope);
            bind(probe, item);
            if (eval(*s.filter, probe).truthy()) kept.push_back(item);
        }
        built = std::move(kept);
        items = &built;
    }
    const int64_t n = static_cast<int64_t>(items->size());
    // One loop.cycle per loop, reading the current iteration.
    auto position = std::make_shared<int64_t>(0);
    Value cycle = Value::function("cycle", [position](Interpreter&, CallArgs& a) -> Value {
        if (a.positional.empty()) template_error("loop.cycle() needs at least one argument");
        return a.positional[static_cast<size_t>(*position) % a.positional.size()];
    });
    for (int64_t i = 0; i < n; ++i) {
        tick();
        *position = i;
        auto iteration = std::make_shared<Scope>(scope);
        Object loop;
        loop.reserve(12);
        loop.append("index", Value(i + 1));
        loop.append("index0", Value(i));
        loop.append("revindex", Value(n - i));
        loop.append("revindex0", Value(n - i - 1));
        loop.append("first", Value(i == 0));
        loop.append("last", Value(i == n - 1));
        loop.append("length", Value(n));
        loop.append("depth", Value(1));
        loop.append("depth0", Value(0));
        loop.append("previtem", i > 0 ? (*items)[static_cast<size_t>(i - 1)] : Value());
        loop.append("nextitem", i + 1 < n ? (*items)[static_cast<size_t>(i + 1)] : Value());
        loop.append("cycle", cycle);
        iteration->set("loop", Value(std::move(loop)));
        bind(iteration, (*items)[static_cast<size_t>(i)]);
        Flow f = exec_body(s.body, iteration, out);
        if (f == Flow::break_loop) break;
    }
    if (n == 0 && !s.else_body.empty()) exec_body(s.else_body, std::make_shared<Scope>(scope), out);
}

void Interpreter::exec_set(const Set& s, const ScopePtr& scope) {
    Value v;
    if (s.value) {
        v = eval(*s.value, scope);
    } else {
        std::string body;
        exec_body(s.body, scope, body);
        v = Value(std::move(body));
    }
    if (!s.attr.empty()) {
        const Value* target = scope->lookup(s.targets[0]);
        if (!target || !target->is_namespace())
            template_error(
                fmt::format("cannot set attribute '{}' of '{}': only a namespace() can be assigned to",
                            s.attr, s.targets[0]));
        check_no_namespace(v);
        target->namespace_entries().set(s.attr, std::move(v));
        return;
    }
    if (!s.unpack) {
        scope->set(s.targets[0], std::move(v));
        return;
    }
    if (!v.is_array()) template_error(fmt::format("cannot unpack a {} value in set", v.type_name()));
    const auto& parts = v.as_array();
    if (parts.size() != s.targets.size())
        template_error(fmt::format("cannot unpack {} values into {} names", parts.size(), s.targets.size()));
    for (size_t i = 0; i < parts.size(); ++i) scope->set(s.targets[i], parts[i]);
}

Value Interpreter::make_macro(const Macro& m, const ScopePtr& scope) {
    const Macro* node = &m;
    ScopePtr defined_in = scope;
    captured_scopes_.push_back(scope);
    return Value::function(m.name, [this, node, defined_in](Interpreter&, CallArgs& args) {
        return invoke_macro(node, node->params, node->body, defined_in, args, nullptr);
    });
}

Value Interpreter::invoke_macro(const Macro* m, const std::vector<Param>& params, const Body& body,
                                const ScopePtr& defined_in, CallArgs& args, const Value*) {
    if (++call_depth_ > opts_.limits.max_call_depth) {
        --call_depth_;
        template_error(fmt::format("macro calls nest more than {} deep", opts_.limits.max_call_depth));
    }
    struct Depth {
        int& d;
        ~Depth() { --d; }
    } depth{call_depth_};
    const std::string name = m ? m->name : "caller";
    auto local = std::make_shared<Scope>(defined_in);
    Object kwargs;
    std::vector<bool> bound(params.size(), false);
    for (size_t i = 0; i < params.size() && i < args.positional.size(); ++i) {
        local->set(params[i].name, args.positional[i]);
        bound[i] = true;
    }
    for (auto& [k, v] : args.keyword) {
        bool matched = false;
        for (size_t i = 0; i < params.size(); ++i) {
            if (params[i].name == k) {
                if (bound[i]) template_error(fmt::format("macro '{}' got two values for '{}'", name, k));
                local->set(k, v);
                bound[i] = matched = true;
            }
        }
        if (!matched) {
            if (k == "caller")
                local->set("caller", v);
            else
                kwargs.set(k, v);
        }
    }
    Array varargs;
    for (size_t i = params.size(); i < args.positional.size(); ++i) varargs.push_back(args.positional[i]);
    local->set("varargs", Value(std::move(varargs)));
    local->set("kwargs", Value(std::move(kwargs)));
    for (size_t i = 0; i < params.size(); ++i) {
        if (bound[i]) continue;
        local->set(params[i].name, params[i].default_value ? eval(*params[i].default_value, local) : Value());
    }
    std::string out;
    exec_body(body, local, out);
    return Value(std::move(out));
}

// ---- expressions --------------------------------------------------------------------------

Value Interpreter::eval(const Expr& e, const ScopePtr& scope) {
    tick();
    try {
        return eval_inner(e, scope);
    } catch (TemplateError& err) {
        if (!err.positioned) {
            err.message = fmt::format("{}: {}", describe_position(source_, e.offset), err.message);
            err.positioned = true;
        }
        throw;
    }
}

CallArgs Interpreter::eval_args(const std::vector<Arg>& args, const ScopePtr& scope) {
    CallArgs out;
    for (const auto& a : args) {
        if (a.keyword.empty())
            out.positional.push_back(eval(*a.value, scope));
        else
            out.keyword.emplace_back(a.keyword, eval(*a.value, scope));
    }
    return out;
}

Value Interpreter::eval_inner(const Expr& e, const ScopePtr& scope) {
    switch (e.kind) {
        case ExprKind::literal:
            return static_cast<const Literal&>(e).value;
        case ExprKind::name: {
            const Value* v = scope->lookup(static_cast<const Name&>(e).name);
            return v ? *v : Value();
        }
        case ExprKind::list:
        case ExprKind::tuple: {
            Array a;
            for (const auto& x : static_cast<const Sequence&>(e).items) a.push_back(eval(*x, scope));
            return Value(std::move(a));
        }
        case ExprKind::dict: {
            Object o;
            for (const auto& [k, v] : static_cast<const Dict&>(e).entries) {
                Value key = eval(*k, scope);
                if (!key.is_string())
                    template_error(fmt::format("dict keys must be strings, not {}", key.type_name()));
                o.set(key.as_string(), eval(*v, scope));
            }
            return Value(std::move(o));
        }
        case ExprKind::unary: {
            const auto& u = static_cast<const Unary&>(e);
            Value v = eval(*u.operand, scope);
            if (u.op == UnaryOp::logical_not) return Value(!v.truthy());
            if (v.is_bool()) v = Value(int64_t{v.as_bool()});
            if (u.op == UnaryOp::plus && v.is_number()) return v;
            if (v.is_int()) {
                if (v.as_int() == INT64_MIN) template_error("integer overflow");
                return Value(-v.as_int());
            }
            if (v.is_float()) return Value(-v.as_float());
            template_error(fmt::format("cannot apply unary {} to a {} value",
                                       u.op == UnaryOp::plus ? '+' : '-', v.type_name()));
        }
        case ExprKind::binary:
            return eval_binary(static_cast<const Binary&>(e), scope);
        case ExprKind::ternary: {
            const auto& t = static_cast<const Ternary&>(e);
            if (eval(*t.cond, scope).truthy()) return eval(*t.value, scope);
            return t.else_value ? eval(*t.else_value, scope) : Value();
        }
        case ExprKind::member: {
            const auto& m = static_cast<const Member&>(e);
            return attribute(eval(*m.object, scope), m.name, *m.object, false);
        }
        case ExprKind::index: {
            const auto& ix = static_cast<const Index&>(e);
            Value obj = eval(*ix.object, scope);
            return subscript(obj, eval(*ix.key, scope), *ix.object);
        }
        case ExprKind::slice: {
            const auto& s = static_cast<const Slice&>(e);
            Value obj = eval(*s.object, scope);
            if (obj.is_undefined()) template_error(fmt::format("'{}' is undefined", describe(*s.object)));
            auto part = [&](const ExprPtr& p) { return p ? eval(*p, scope) : Value(); };
            return slice_value(*this, obj, part(s.start), part(s.stop), part(s.step));
        }
        case ExprKind::call:
            return eval_call(static_cast<const Call&>(e), scope);
        case ExprKind::filter: {
            const auto& f = static_cast<const Filter&>(e);
            Value operand = eval(*f.operand, scope);
            CallArgs args = eval_args(f.args, scope);
            return apply_filter(*this, f.name, operand, args);
        }
        case ExprKind::test: {
            const auto& t = static_cast<const Test&>(e);
            Value operand = eval(*t.operand, scope);
            CallArgs args = eval_args(t.args, scope);
            return Value(apply_test(*this, t.name, operand, args) != t.negate);
        }
    }
    template_error("unknown expression");
}

Value Interpreter::eval_binary(const Binary& b, const ScopePtr& scope) {
    Value left = eval(*b.left, scope);
    if (b.op == BinaryOp::logical_and) return left.truthy() ? eval(*b.right, scope) : left;
    if (b.op == BinaryOp::logical_or) return left.truthy() ? left : eval(*b.right, scope);
    Value right = eval(*b.right, scope);
    return binary_operator(*this, b.op, left, right);
}

Value Interpreter::eval_call(const Call& c, const ScopePtr& scope) {
    Value fn;
    if (c.callee->kind == ExprKind::member) {
        const auto& m = static_cast<const Member&>(*c.callee);
        fn = attribute(eval(*m.object, scope), m.name, *m.object, true);
    } else {
        fn = eval(*c.callee, scope);
    }
    if (fn.is_undefined()) template_error(fmt::format("'{}' is undefined", describe(*c.callee)));
    if (!fn.is_callable())
        template_error(
            fmt::format("'{}' is a {} value, not a function", describe(*c.callee), fn.type_name()));
    CallArgs args = eval_args(c.args, scope);
    return call(fn, args);
}

Value Interpreter::attribute(const Value& obj, const std::string& name, const Expr& obj_expr, bool for_call) {
    switch (obj.type()) {
        case Value::Type::undefined:
            template_error(fmt::format("'{}' is undefined", describe(obj_expr)));
        case Value::Type::object: {
            if (for_call) {
                Value m = bound_method(obj, name);
                if (!m.is_undefined()) return m;
            }
            if (const Value* v = obj.as_object().find(name)) return *v;
            return bound_method(obj, name);
        }
        case Value::Type::ns: {
            const Value* v = obj.as_object().find(name);
            return v ? *v : Value();
        }
        case Value::Type::string:
            if (name == "length") return Value(static_cast<int64_t>(utf8::length(obj.as_string())));
            return bound_method(obj, name);
        case Value::Type::array:
            if (name == "length") return Value(static_cast<int64_t>(obj.as_array().size()));
            return bound_method(obj, name);
        default:
            return Value();
    }
}

Value Interpreter::subscript(const Value& obj, const Value& key, const Expr& obj_expr) {
    switch (obj.type()) {
        case Value::Type::undefined:
            template_error(fmt::format("'{}' is undefined", describe(obj_expr)));
        case Value::Type::object:
        case Value::Type::ns: {
            if (!key.is_string()) return Value();
            const Value* v = obj.as_object().find(key.as_string());
            return v ? *v : Value();
        }
        case Value::Type::array:
        case Value::Type::string: {
            if (!key.is_int() && !key.is_bool()) {
                if (key.is_string()) return attribute(obj, key.as_string(), obj_expr, false);
                return Value();
            }
            int64_t i = key.is_bool() ? int64_t{key.as_bool()} : key.as_int();
            if (obj.is_array()) {
                const auto& a = obj.as_array();
                int64_t n = static_cast<int64_t>(a.size());
                if (i < 0) i += n;
                return i >= 0 && i < n ? a[static_cast<size_t>(i)] : Value();
            }
            auto cps = utf8::code_points(obj.as_string());
            int64_t n = static_cast<int64_t>(cps.size());
            if (i < 0) i += n;
            if (i < 0 || i >= n) return Value();
            std::string ch;
            utf8::append(ch, cps[static_cast<size_t>(i)]);
            return Value(std::move(ch));
        }
        default:
            return Value();
    }
}

}  // namespace kinglet::chat
