#include "chat/parser.h"

#include <fmt/format.h>

#include <charconv>
#include <initializer_list>

#include "core/error.h"

namespace kinglet::chat {

namespace {

using namespace ast;

constexpr int kMaxNesting = 128;

bool is_keyword(std::string_view s) {
    return s == "and" || s == "or" || s == "not" || s == "in" || s == "is" || s == "if" || s == "else";
}

bool test_takes_argument(std::string_view t) {
    return t == "divisibleby" || t == "equalto" || t == "eq" || t == "ne" || t == "sameas" || t == "lt" ||
           t == "gt" || t == "le" || t == "ge" || t == "in" || t == "greaterthan" || t == "lessthan";
}

class Parser {
  public:
    Parser(std::string_view source, const std::vector<Token>& tokens) : source_(source), t_(tokens) {}

    Program program() {
        Program p;
        while (pos_ < t_.size()) {
            if (auto s = any()) p.body.push_back(std::move(s));
        }
        return p;
    }

  private:
    std::string_view source_;
    const std::vector<Token>& t_;
    size_t pos_ = 0;
    int depth_ = 0;
    std::vector<const char*> open_blocks_;  // the closers of the blocks being parsed, innermost last

    struct DepthGuard {
        Parser& p;
        explicit DepthGuard(Parser& parser) : p(parser) {
            if (++p.depth_ > kMaxNesting) p.error("template nests more than 128 levels deep");
        }
        ~DepthGuard() { --p.depth_; }
    };

    uint32_t here() const {
        if (pos_ < t_.size()) return t_[pos_].offset;
        return static_cast<uint32_t>(source_.size());
    }
    std::string found() const {
        if (pos_ >= t_.size()) return "the end of the template";
        const auto& tok = t_[pos_];
        if (tok.type == Tok::text) return "text";
        return fmt::format("'{}'", tok.value);
    }
    [[noreturn]] void error(const std::string& what) const {
        fail(Errc::invalid_argument, "chat template syntax error at {}: {}",
             describe_position(source_, here()), what);
    }

    bool is(Tok type, size_t ahead = 0) const {
        return pos_ + ahead < t_.size() && t_[pos_ + ahead].type == type;
    }
    bool is_ident(std::string_view name, size_t ahead = 0) const {
        return is(Tok::identifier, ahead) && t_[pos_ + ahead].value == name;
    }
    const Token& expect(Tok type, const char* what) {
        if (!is(type)) error(fmt::format("expected {} but found {}", what, found()));
        return t_[pos_++];
    }
    void expect_ident(std::string_view name) {
        if (!is_ident(name)) error(fmt::format("expected '{}' but found {}", name, found()));
        ++pos_;
    }
    std::string identifier(const char* what) { return expect(Tok::identifier, what).value; }
    bool at_statement(std::initializer_list<std::string_view> names) const {
        if (!is(Tok::open_statement) || !is(Tok::identifier, 1)) return false;
        for (auto n : names)
            if (t_[pos_ + 1].value == n) return true;
        return false;
    }

    template <typename T, typename... A>
    std::unique_ptr<T> node(uint32_t offset, A&&... a) {
        auto n = std::make_unique<T>(std::forward<A>(a)...);
        n->offset = offset;
        return n;
    }

    // Parses statements until one of `ends` (left unconsumed).
    Body block(std::initializer_list<std::string_view> ends, const char* closer) {
        DepthGuard g(*this);
        open_blocks_.push_back(closer);
        Body body;
        while (!at_statement(ends)) {
            if (pos_ >= t_.size()) error(fmt::format("missing {}", closer));
            if (auto s = any()) body.push_back(std::move(s));
        }
        open_blocks_.pop_back();
        return body;
    }
    void end_tag(std::string_view name) {
        expect(Tok::open_statement, "'{%'");
        expect_ident(name);
        expect(Tok::close_statement, "'%}'");
    }

    StmtPtr any() {
        const Token& tok = t_[pos_];
        switch (tok.type) {
            case Tok::comment:
                ++pos_;
                return nullptr;
            case Tok::text: {
                auto n = node<Text>(tok.offset);
                n->text = tok.value;
                ++pos_;
                return n;
            }
            case Tok::open_statement:
                return statement();
            case Tok::open_expression: {
                auto n = node<Output>(tok.offset);
                ++pos_;
                n->expr = expression();
                expect(Tok::close_expression, "'}}'");
                return n;
            }
            default:
                error(fmt::format("unexpected {}", found()));
        }
    }

    StmtPtr statement() {
        uint32_t at = here();
        expect(Tok::open_statement, "'{%'");
        if (!is(Tok::identifier)) error(fmt::format("expected a statement name but found {}", found()));
        std::string name = t_[pos_++].value;
        if (name == "set") return set_statement(at);
        if (name == "if") {
            auto s = if_statement(at);
            end_tag("endif");
            return s;
        }
        if (name == "for") return for_statement(at);
        if (name == "macro") return macro_statement(at);
        if (name == "call") return call_statement(at);
        if (name == "filter") {
            auto s = node<FilterBlock>(at);
            s->filter = filter_call(nullptr);
            expect(Tok::close_statement, "'%}'");
            s->body = block({"endfilter"}, "{% endfilter %}");
            end_tag("endfilter");
            return s;
        }
        if (name == "break" || name == "continue") {
            expect(Tok::close_statement, "'%}'");
            return node<Stmt>(at, name == "break" ? StmtKind::break_ : StmtKind::continue_);
        }
        --pos_;
        static constexpr std::string_view closers[] = {"endif",  "elif",     "else",      "endfor",
                                                       "endset", "endmacro", "endfilter", "endcall"};
        for (auto c : closers) {
            if (name != c) continue;
            if (open_blocks_.empty()) error(fmt::format("unexpected '{}' outside any block", name));
            error(fmt::format("unexpected '{}' where {} was expected", name, open_blocks_.back()));
        }
        error(fmt::format("unknown statement '{}'", name));
    }

    StmtPtr set_statement(uint32_t at) {
        auto s = node<Set>(at);
        s->targets.push_back(identifier("a variable name"));
        if (is(Tok::dot)) {
            ++pos_;
            s->attr = identifier("an attribute name");
        } else {
            while (is(Tok::comma)) {
                ++pos_;
                s->unpack = true;
                s->targets.push_back(identifier("a variable name"));
            }
        }
        if (is(Tok::equals)) {
            ++pos_;
            s->value = expression_sequence();
            expect(Tok::close_statement, "'%}'");
        } else {
            expect(Tok::close_statement, "'=' or '%}'");
            s->body = block({"endset"}, "{% endset %}");
            end_tag("endset");
        }
        return s;
    }

    std::unique_ptr<If> if_statement(uint32_t at) {
        auto s = node<If>(at);
        s->cond = expression();
        expect(Tok::close_statement, "'%}'");
        s->then_body = block({"elif", "else", "endif"}, "{% endif %}");
        if (at_statement({"elif"})) {
            uint32_t elif_at = here();
            pos_ += 2;
            s->else_body.push_back(if_statement(elif_at));
        } else if (at_statement({"else"})) {
            pos_ += 2;
            expect(Tok::close_statement, "'%}'");
            s->else_body = block({"endif"}, "{% endif %}");
        }
        return s;
    }

    StmtPtr for_statement(uint32_t at) {
        auto s = node<For>(at);
        bool paren = is(Tok::open_paren);
        if (paren) ++pos_;
        s->targets.push_back(identifier("a loop variable"));
        while (is(Tok::comma)) {
            ++pos_;
            s->unpack = true;
            s->targets.push_back(identifier("a loop variable"));
        }
        if (paren) expect(Tok::close_paren, "')'");
        expect_ident("in");
        s->iterable = logical_or();
        if (is_ident("if")) {
            uint32_t if_at = here();
            ++pos_;
            auto cond = logical_or();
            if (is_ident("else")) {
                ++pos_;
                auto t = node<Ternary>(if_at);
                t->cond = std::move(cond);
                t->value = std::move(s->iterable);
                t->else_value = expression();
                s->iterable = std::move(t);
            } else {
                s->filter = std::move(cond);
            }
        }
        expect(Tok::close_statement, "'%}'");
        s->body = block({"endfor", "else"}, "{% endfor %}");
        if (at_statement({"else"})) {
            pos_ += 2;
            expect(Tok::close_statement, "'%}'");
            s->else_body = block({"endfor"}, "{% endfor %}");
        }
        end_tag("endfor");
        return s;
    }

    std::vector<Param> parameters() {
        std::vector<Param> params;
        expect(Tok::open_paren, "'('");
        bool defaults = false;
        while (!is(Tok::close_paren)) {
            Param p;
            p.name = identifier("a parameter name");
            for (const auto& q : params)
                if (q.name == p.name) error(fmt::format("duplicate parameter '{}'", p.name));
            if (is(Tok::equals)) {
                ++pos_;
                p.default_value = expression();
                defaults = true;
            } else if (defaults) {
                error("a parameter without a default follows one with a default");
            }
            params.push_back(std::move(p));
            if (!is(Tok::comma)) break;
            ++pos_;
        }
        expect(Tok::close_paren, "')'");
        return params;
    }

    StmtPtr macro_statement(uint32_t at) {
        auto s = node<Macro>(at);
        s->name = identifier("a macro name");
        s->params = parameters();
        expect(Tok::close_statement, "'%}'");
        s->body = block({"endmacro"}, "{% endmacro %}");
        end_tag("endmacro");
        return s;
    }

    StmtPtr call_statement(uint32_t at) {
        auto s = node<CallBlock>(at);
        if (is(Tok::open_paren)) s->caller_params = parameters();
        auto callee = node<Name>(here());
        callee->name = identifier("a macro name");
        s->call = node<Call>(callee->offset);
        s->call->callee = std::move(callee);
        s->call->args = arguments();
        expect(Tok::close_statement, "'%}'");
        s->body = block({"endcall"}, "{% endcall %}");
        end_tag("endcall");
        return s;
    }

    // ---- expressions, lowest precedence first ----------------------------------------------

    ExprPtr expression_sequence() {
        uint32_t at = here();
        auto first = expression();
        if (!is(Tok::comma)) return first;
        auto t = node<Sequence>(at, ExprKind::tuple);
        t->items.push_back(std::move(first));
        while (is(Tok::comma)) {
            ++pos_;
            if (is(Tok::close_paren) || is(Tok::close_statement)) break;
            t->items.push_back(expression());
        }
        return t;
    }

    ExprPtr expression() {
        DepthGuard g(*this);
        uint32_t at = here();
        auto value = logical_or();
        if (!is_ident("if")) return value;
        ++pos_;
        auto t = node<Ternary>(at);
        t->value = std::move(value);
        t->cond = logical_or();
        if (is_ident("else")) {
            ++pos_;
            t->else_value = expression();
        }
        return t;
    }

    ExprPtr binary(BinaryOp op, ExprPtr l, ExprPtr r, uint32_t at) {
        auto b = node<Binary>(at);
        b->op = op;
        b->left = std::move(l);
        b->right = std::move(r);
        return b;
    }

    ExprPtr logical_or() {
        uint32_t at = here();
        auto left = logical_and();
        while (is_ident("or")) {
            ++pos_;
            left = binary(BinaryOp::logical_or, std::move(left), logical_and(), at);
        }
        return left;
    }

    ExprPtr logical_and() {
        uint32_t at = here();
        auto left = logical_not();
        while (is_ident("and")) {
            ++pos_;
            left = binary(BinaryOp::logical_and, std::move(left), logical_not(), at);
        }
        return left;
    }

    ExprPtr logical_not() {
        if (!is_ident("not")) return comparison();
        DepthGuard g(*this);
        auto u = node<Unary>(here());
        ++pos_;
        u->op = UnaryOp::logical_not;
        u->operand = logical_not();
        return u;
    }

    ExprPtr comparison() {
        uint32_t at = here();
        auto left = additive();
        while (true) {
            BinaryOp op;
            if (is_ident("not") && is_ident("in", 1)) {
                pos_ += 2;
                op = BinaryOp::not_in;
            } else if (is_ident("in")) {
                ++pos_;
                op = BinaryOp::in;
            } else if (is(Tok::comparison)) {
                const std::string& v = t_[pos_++].value;
                op = v == "=="   ? BinaryOp::eq
                     : v == "!=" ? BinaryOp::ne
                     : v == "<"  ? BinaryOp::lt
                     : v == ">"  ? BinaryOp::gt
                     : v == "<=" ? BinaryOp::le
                                 : BinaryOp::ge;
            } else {
                return left;
            }
            left = binary(op, std::move(left), additive(), at);
        }
    }

    ExprPtr additive() {
        uint32_t at = here();
        auto left = multiplicative();
        while (is(Tok::additive)) {
            const std::string& v = t_[pos_++].value;
            BinaryOp op = v == "+" ? BinaryOp::add : v == "-" ? BinaryOp::sub : BinaryOp::concat;
            left = binary(op, std::move(left), multiplicative(), at);
        }
        return left;
    }

    ExprPtr multiplicative() {
        uint32_t at = here();
        auto left = power();
        while (is(Tok::multiplicative)) {
            const std::string& v = t_[pos_++].value;
            BinaryOp op = v == "*"    ? BinaryOp::mul
                          : v == "/"  ? BinaryOp::div
                          : v == "//" ? BinaryOp::floordiv
                                      : BinaryOp::mod;
            left = binary(op, std::move(left), power(), at);
        }
        return left;
    }

    ExprPtr power() {
        uint32_t at = here();
        auto left = test();
        while (is(Tok::power)) {  // left-associative, as in Jinja
            ++pos_;
            left = binary(BinaryOp::pow, std::move(left), test(), at);
        }
        return left;
    }

    ExprPtr test() {
        uint32_t at = here();
        auto operand = filter();
        while (is_ident("is")) {
            ++pos_;
            auto t = node<Test>(at);
            t->operand = std::move(operand);
            if (is_ident("not")) {
                ++pos_;
                t->negate = true;
            }
            t->name = identifier("a test name");
            if (is(Tok::open_paren)) {
                t->args = arguments();
            } else if (test_takes_argument(t->name) &&
                       (is(Tok::number) || is(Tok::string) || is(Tok::open_bracket) || is(Tok::open_brace) ||
                        (is(Tok::identifier) && !is_keyword(t_[pos_].value)))) {
                t->args.push_back(Arg{"", primary()});
            }
            operand = std::move(t);
        }
        return operand;
    }

    std::unique_ptr<Filter> filter_call(ExprPtr operand) {
        auto f = node<Filter>(here());
        f->operand = std::move(operand);
        f->name = identifier("a filter name");
        if (is(Tok::open_paren)) f->args = arguments();
        return f;
    }

    ExprPtr filter() {
        auto operand = unary();
        while (is(Tok::pipe)) {
            ++pos_;
            uint32_t at = operand->offset;
            auto f = filter_call(std::move(operand));
            f->offset = at;
            operand = std::move(f);
        }
        return operand;
    }

    ExprPtr unary() {
        if ((is(Tok::unary) || is(Tok::additive)) && (t_[pos_].value == "-" || t_[pos_].value == "+")) {
            DepthGuard g(*this);
            auto u = node<Unary>(here());
            u->op = t_[pos_].value == "-" ? UnaryOp::negate : UnaryOp::plus;
            ++pos_;
            u->operand = unary();
            return u;
        }
        return postfix(primary());
    }

    std::vector<Arg> arguments() {
        expect(Tok::open_paren, "'('");
        std::vector<Arg> args;
        bool keyword_seen = false;
        while (!is(Tok::close_paren)) {
            if (is(Tok::multiplicative) || is(Tok::power))
                error("argument unpacking (* and **) is not supported");
            Arg a;
            if (is(Tok::identifier) && is(Tok::equals, 1)) {
                a.keyword = t_[pos_].value;
                pos_ += 2;
                keyword_seen = true;
            } else if (keyword_seen) {
                error("a positional argument follows a keyword argument");
            }
            a.value = expression();
            args.push_back(std::move(a));
            if (!is(Tok::comma)) break;
            ++pos_;
        }
        expect(Tok::close_paren, "')'");
        return args;
    }

    ExprPtr postfix(ExprPtr e) {
        while (true) {
            if (is(Tok::dot)) {
                ++pos_;
                if (is(Tok::number) && t_[pos_].value.find_first_not_of("0123456789") == std::string::npos) {
                    auto ix = node<Index>(e->offset);
                    ix->object = std::move(e);
                    ix->key = number(t_[pos_++]);
                    e = std::move(ix);
                    continue;
                }
                auto m = node<Member>(e->offset);
                m->object = std::move(e);
                m->name = identifier("an attribute name after '.'");
                e = std::move(m);
            } else if (is(Tok::open_bracket)) {
                ++pos_;
                e = subscript(std::move(e));
            } else if (is(Tok::open_paren)) {
                auto c = node<Call>(e->offset);
                c->callee = std::move(e);
                c->args = arguments();
                e = std::move(c);
            } else {
                return e;
            }
        }
    }

    ExprPtr subscript(ExprPtr object) {
        ExprPtr parts[3];
        int n = 0;
        bool slice = false;
        while (!is(Tok::close_bracket)) {
            if (n >= 3) error("a slice takes at most three parts");
            if (is(Tok::colon)) {
                ++pos_;
                ++n;
                slice = true;
            } else {
                parts[n] = expression();
                if (is(Tok::colon)) {
                    ++pos_;
                    ++n;
                    slice = true;
                } else if (!is(Tok::close_bracket)) {
                    error(fmt::format("expected ']' but found {}", found()));
                } else {
                    ++n;
                }
            }
        }
        if (n == 0 && !slice) error("empty subscript '[]'");
        expect(Tok::close_bracket, "']'");
        if (!slice) {
            auto ix = node<Index>(object->offset);
            ix->object = std::move(object);
            ix->key = std::move(parts[0]);
            return ix;
        }
        auto s = node<Slice>(object->offset);
        s->object = std::move(object);
        s->start = std::move(parts[0]);
        s->stop = std::move(parts[1]);
        s->step = std::move(parts[2]);
        return s;
    }

    ExprPtr number(const Token& tok) {
        auto lit = node<Literal>(tok.offset);
        const std::string& v = tok.value;
        if (v.find('.') != std::string::npos) {
            lit->value = Value(std::strtod(v.c_str(), nullptr));
        } else {
            int64_t i = 0;
            auto [p, ec] = std::from_chars(v.data() + (v[0] == '+' ? 1 : 0), v.data() + v.size(), i);
            if (ec != std::errc()) {
                --pos_;
                error(fmt::format("integer literal {} is too large", v));
            }
            lit->value = Value(i);
        }
        return lit;
    }

    ExprPtr primary() {
        if (pos_ >= t_.size()) error("unexpected end of the template in an expression");
        const Token& tok = t_[pos_];
        switch (tok.type) {
            case Tok::number:
                ++pos_;
                return number(tok);
            case Tok::string: {
                auto lit = node<Literal>(tok.offset);
                std::string s = tok.value;
                ++pos_;
                while (is(Tok::string)) s += t_[pos_++].value;  // adjacent literals concatenate
                lit->value = Value(std::move(s));
                return lit;
            }
            case Tok::identifier: {
                ++pos_;
                const std::string& v = tok.value;
                if (v == "true" || v == "True" || v == "false" || v == "False" || v == "none" ||
                    v == "None") {
                    auto lit = node<Literal>(tok.offset);
                    lit->value =
                        (v == "none" || v == "None") ? Value::none() : Value(v[0] == 't' || v[0] == 'T');
                    return lit;
                }
                auto n = node<Name>(tok.offset);
                n->name = v;
                return n;
            }
            case Tok::open_paren: {
                ++pos_;
                if (is(Tok::close_paren)) {  // () is the empty tuple
                    ++pos_;
                    auto t = node<Sequence>(tok.offset, ExprKind::tuple);
                    return t;
                }
                auto e = expression_sequence();
                expect(Tok::close_paren, "')'");
                return e;
            }
            case Tok::open_bracket: {
                ++pos_;
                auto l = node<Sequence>(tok.offset, ExprKind::list);
                while (!is(Tok::close_bracket)) {
                    l->items.push_back(expression());
                    if (!is(Tok::comma)) break;
                    ++pos_;
                }
                expect(Tok::close_bracket, "']'");
                return l;
            }
            case Tok::open_brace: {
                ++pos_;
                auto d = node<Dict>(tok.offset);
                while (!is(Tok::close_brace)) {
                    auto k = expression();
                    expect(Tok::colon, "':'");
                    d->entries.emplace_back(std::move(k), expression());
                    if (!is(Tok::comma)) break;
                    ++pos_;
                }
                expect(Tok::close_brace, "'}'");
                return d;
            }
            default:
                error(fmt::format("expected an expression but found {}", found()));
        }
    }
};

}  // namespace

ast::Program parse(std::string_view source, const std::vector<Token>& tokens) {
    return Parser(source, tokens).program();
}

}  // namespace kinglet::chat
