// The syntax tree of a chat template. Nodes are immutable after parsing; each keeps the byte offset
// of its first token in the original source for error messages.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "chat/value.h"

namespace kinglet::chat::ast {

struct Node {
    uint32_t offset = 0;
};

enum class ExprKind : uint8_t {
    literal,
    name,
    list,
    tuple,
    dict,
    unary,
    binary,
    ternary,
    member,
    index,
    slice,
    call,
    filter,
    test
};

struct Expr : Node {
    explicit Expr(ExprKind k) : kind(k) {}
    virtual ~Expr() = default;
    ExprKind kind;
};
using ExprPtr = std::unique_ptr<Expr>;

struct Literal : Expr {
    Literal() : Expr(ExprKind::literal) {}
    Value value;
};
struct Name : Expr {
    Name() : Expr(ExprKind::name) {}
    std::string name;
};
struct Sequence : Expr {  // list or tuple literal
    explicit Sequence(ExprKind k) : Expr(k) {}
    std::vector<ExprPtr> items;
};
struct Dict : Expr {
    Dict() : Expr(ExprKind::dict) {}
    std::vector<std::pair<ExprPtr, ExprPtr>> entries;
};
enum class UnaryOp : uint8_t { logical_not, negate, plus };
struct Unary : Expr {
    Unary() : Expr(ExprKind::unary) {}
    UnaryOp op;
    ExprPtr operand;
};
enum class BinaryOp : uint8_t {
    logical_and,
    logical_or,
    eq,
    ne,
    lt,
    gt,
    le,
    ge,
    in,
    not_in,
    add,
    sub,
    concat,
    mul,
    div,
    floordiv,
    mod,
    pow
};
struct Binary : Expr {
    Binary() : Expr(ExprKind::binary) {}
    BinaryOp op;
    ExprPtr left, right;
};
struct Ternary : Expr {  // `a if cond else b`; `else_value` is null for `a if cond`
    Ternary() : Expr(ExprKind::ternary) {}
    ExprPtr cond, value, else_value;
};
struct Member : Expr {  // obj.name
    Member() : Expr(ExprKind::member) {}
    ExprPtr object;
    std::string name;
};
struct Index : Expr {  // obj[key]
    Index() : Expr(ExprKind::index) {}
    ExprPtr object, key;
};
struct Slice : Expr {  // obj[start:stop:step]
    Slice() : Expr(ExprKind::slice) {}
    ExprPtr object, start, stop, step;
};
struct Arg {
    std::string keyword;  // empty for a positional argument
    ExprPtr value;
};
struct Call : Expr {
    Call() : Expr(ExprKind::call) {}
    ExprPtr callee;
    std::vector<Arg> args;
};
struct Filter : Expr {  // operand | name(args)
    Filter() : Expr(ExprKind::filter) {}
    ExprPtr operand;  // null inside a {% filter %} block
    std::string name;
    std::vector<Arg> args;
};
struct Test : Expr {  // operand is [not] name(args)
    Test() : Expr(ExprKind::test) {}
    ExprPtr operand;
    std::string name;
    bool negate = false;
    std::vector<Arg> args;
};

enum class StmtKind : uint8_t {
    text,
    output,
    if_,
    for_,
    set,
    macro,
    break_,
    continue_,
    filter_block,
    call_block
};

struct Stmt : Node {
    explicit Stmt(StmtKind k) : kind(k) {}
    virtual ~Stmt() = default;
    StmtKind kind;
};
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

struct Text : Stmt {
    Text() : Stmt(StmtKind::text) {}
    std::string text;
};
struct Output : Stmt {
    Output() : Stmt(StmtKind::output) {}
    ExprPtr expr;
};
struct If : Stmt {
    If() : Stmt(StmtKind::if_) {}
    ExprPtr cond;
    Body then_body, else_body;
};
struct For : Stmt {
    For() : Stmt(StmtKind::for_) {}
    std::vector<std::string> targets;
    bool unpack = false;  // `for a, b in ...`
    ExprPtr iterable;
    ExprPtr filter;  // `for x in xs if cond`
    Body body, else_body;
};
struct Set : Stmt {
    Set() : Stmt(StmtKind::set) {}
    std::vector<std::string> targets;  // names; one name with `attr` set means ns.attr
    bool unpack = false;
    std::string attr;
    ExprPtr value;  // null for a block set
    Body body;
};
struct Param {
    std::string name;
    ExprPtr default_value;
};
struct Macro : Stmt {
    Macro() : Stmt(StmtKind::macro) {}
    std::string name;
    std::vector<Param> params;
    Body body;
};
struct FilterBlock : Stmt {
    FilterBlock() : Stmt(StmtKind::filter_block) {}
    std::unique_ptr<Filter> filter;
    Body body;
};
struct CallBlock : Stmt {  // {% call(params) macro(args) %}body{% endcall %}
    CallBlock() : Stmt(StmtKind::call_block) {}
    std::vector<Param> caller_params;
    std::unique_ptr<Call> call;
    Body body;
};

struct Program {
    Body body;
};

}  // namespace kinglet::chat::ast
