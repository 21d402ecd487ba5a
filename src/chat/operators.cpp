// Arithmetic, comparison, membership and slicing with Python's semantics (floor division and modulo,
// int64 with overflow detection instead of big integers), plus @huggingface/jinja's leniency where
// Python would fail but real templates rely on it: `'a' + 1` concatenates.
#include <fmt/format.h>

#include <cmath>
#include <optional>

#include "chat/builtins.h"
#include "chat/utf8.h"

namespace kinglet::chat {

using ast::BinaryOp;

namespace {

bool numeric(const Value& v) {
    return v.is_number() || v.is_bool();
}
Value as_num(const Value& v) {
    return v.is_bool() ? Value(int64_t{v.as_bool()}) : v;
}

const char* op_name(BinaryOp op) {
    switch (op) {
        case BinaryOp::add:
            return "+";
        case BinaryOp::sub:
            return "-";
        case BinaryOp::mul:
            return "*";
        case BinaryOp::div:
            return "/";
        case BinaryOp::floordiv:
            return "//";
        case BinaryOp::mod:
            return "%";
        case BinaryOp::pow:
            return "**";
        case BinaryOp::lt:
            return "<";
        case BinaryOp::gt:
            return ">";
        case BinaryOp::le:
            return "<=";
        case BinaryOp::ge:
            return ">=";
        case BinaryOp::in:
            return "in";
        case BinaryOp::not_in:
            return "not in";
        default:
            return "?";
    }
}

[[noreturn]] void unsupported(BinaryOp op, const Value& a, const Value& b) {
    template_error(fmt::format("unsupported operand types for {}: {} and {}", op_name(op), a.type_name(),
                               b.type_name()));
}

Value int_pow(int64_t base, int64_t exp) {
    int64_t result = 1;
    while (exp > 0) {
        if (exp & 1) {
            if (__builtin_mul_overflow(result, base, &result)) template_error("integer overflow in **");
        }
        exp >>= 1;
        if (exp > 0 && __builtin_mul_overflow(base, base, &base)) template_error("integer overflow in **");
    }
    return Value(result);
}

Value arithmetic(BinaryOp op, const Value& x, const Value& y) {
    Value a = as_num(x), b = as_num(y);
    if (a.is_int() && b.is_int()) {
        int64_t p = a.as_int(), q = b.as_int(), r = 0;
        switch (op) {
            case BinaryOp::add:
                if (__builtin_add_overflow(p, q, &r)) template_error("integer overflow in +");
                return Value(r);
            case BinaryOp::sub:
                if (__builtin_sub_overflow(p, q, &r)) template_error("integer overflow in -");
                return Value(r);
            case BinaryOp::mul:
                if (__builtin_mul_overflow(p, q, &r)) template_error("integer overflow in *");
                return Value(r);
            case BinaryOp::div:
                if (q == 0) template_error("division by zero");
                return Value(static_cast<double>(p) / static_cast<double>(q));
            case BinaryOp::floordiv: {
                if (q == 0) template_error("integer division by zero");
                if (p == INT64_MIN && q == -1) template_error("integer overflow in //");
                int64_t d = p / q;
                if ((p % q != 0) && ((p < 0) != (q < 0))) --d;
                return Value(d);
            }
            case BinaryOp::mod: {
                if (q == 0) template_error("integer modulo by zero");
                if (q == -1) return Value(int64_t{0});
                int64_t m = p % q;
                if (m != 0 && ((m < 0) != (q < 0))) m += q;
                return Value(m);
            }
            case BinaryOp::pow:
                if (q < 0) {
                    if (p == 0) template_error("0 cannot be raised to a negative power");
                    return Value(std::pow(static_cast<double>(p), static_cast<double>(q)));
                }
                return int_pow(p, q);
            default:
                break;
        }
    }
    double p = a.as_number(), q = b.as_number();
    switch (op) {
        case BinaryOp::add:
            return Value(p + q);
        case BinaryOp::sub:
            return Value(p - q);
        case BinaryOp::mul:
            return Value(p * q);
        case BinaryOp::div:
            if (q == 0) template_error("float division by zero");
            return Value(p / q);
        case BinaryOp::floordiv:
            if (q == 0) template_error("float floor division by zero");
            return Value(std::floor(p / q));
        case BinaryOp::mod: {
            if (q == 0) template_error("float modulo by zero");
            double m = std::fmod(p, q);
            if (m != 0 && ((m < 0) != (q < 0))) m += q;
            return Value(m);
        }
        case BinaryOp::pow: {
            if (p == 0 && q < 0) template_error("0.0 cannot be raised to a negative power");
            double r = std::pow(p, q);
            if (std::isnan(r) || std::isinf(r)) template_error("** result is not a finite real number");
            return Value(r);
        }
        default:
            break;
    }
    unsupported(op, x, y);
}

Value repeat(Interpreter& in, const Value& seq, const Value& count) {
    int64_t n = count.is_bool() ? int64_t{count.as_bool()} : count.as_int();
    if (n <= 0) return seq.is_string() ? Value(std::string()) : Value(Array{});
    if (seq.is_string()) {
        size_t unit = seq.as_string().size();
        if (unit != 0 && static_cast<uint64_t>(n) > in.limits().max_string_bytes / unit)
            template_error(fmt::format("a string grew past {} bytes", in.limits().max_string_bytes));
        std::string out;
        out.reserve(unit * static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i) out += seq.as_string();
        return in.make_string(std::move(out));
    }
    size_t unit = seq.as_array().size();
    if (unit != 0 && static_cast<uint64_t>(n) > in.limits().max_list_items / unit)
        template_error(fmt::format("a list grew past {} items", in.limits().max_list_items));
    Array out;
    for (int64_t i = 0; i < n; ++i) out.insert(out.end(), seq.as_array().begin(), seq.as_array().end());
    in.tick(out.size());
    return Value(std::move(out));
}

bool contains(const Value& needle, const Value& hay) {
    switch (hay.type()) {
        case Value::Type::string:
            if (!needle.is_string())
                template_error(
                    fmt::format("'in <string>' requires a string on the left, not {}", needle.type_name()));
            return hay.as_string().find(needle.as_string()) != std::string::npos;
        case Value::Type::array:
            for (const auto& x : hay.as_array())
                if (values_equal(needle, x)) return true;
            return false;
        case Value::Type::object:
        case Value::Type::ns:
            return needle.is_string() && hay.as_object().find(needle.as_string()) != nullptr;
        case Value::Type::undefined:
            return false;
        default:
            template_error(fmt::format("a {} value is not a container for 'in'", hay.type_name()));
    }
}

}  // namespace

int compare_values(const Value& a, const Value& b, bool case_sensitive) {
    spend();
    if (numeric(a) && numeric(b)) {
        Value x = as_num(a), y = as_num(b);
        if (x.is_int() && y.is_int()) return x.as_int() < y.as_int() ? -1 : x.as_int() > y.as_int() ? 1 : 0;
        double p = x.as_number(), q = y.as_number();
        return p < q ? -1 : p > q ? 1 : 0;
    }
    if (a.is_string() && b.is_string()) {
        int c = case_sensitive ? a.as_string().compare(b.as_string())
                               : utf8::to_lower(a.as_string()).compare(utf8::to_lower(b.as_string()));
        return c < 0 ? -1 : c > 0 ? 1 : 0;
    }
    if (a.is_array() && b.is_array()) {
        const auto& x = a.as_array();
        const auto& y = b.as_array();
        for (size_t i = 0; i < x.size() && i < y.size(); ++i)
            if (int c = compare_values(x[i], y[i], case_sensitive)) return c;
        return x.size() < y.size() ? -1 : x.size() > y.size() ? 1 : 0;
    }
    if (a.is_none() && b.is_none()) return 0;
    template_error(fmt::format("cannot compare a {} value with a {} value", a.type_name(), b.type_name()));
}

Value binary_operator(Interpreter& in, BinaryOp op, const Value& a, const Value& b) {
    switch (op) {
        case BinaryOp::eq:
            return Value(values_equal(a, b));
        case BinaryOp::ne:
            return Value(!values_equal(a, b));
        case BinaryOp::lt:
            return Value(compare_values(a, b) < 0);
        case BinaryOp::gt:
            return Value(compare_values(a, b) > 0);
        case BinaryOp::le:
            return Value(compare_values(a, b) <= 0);
        case BinaryOp::ge:
            return Value(compare_values(a, b) >= 0);
        case BinaryOp::in:
            return Value(contains(a, b));
        case BinaryOp::not_in:
            return Value(!contains(a, b));
        case BinaryOp::concat: {
            size_t cap = in.limits().max_string_bytes;
            return in.make_string(to_display_string(a, cap) + to_display_string(b, cap));
        }
        case BinaryOp::add:
            if (a.is_string() && b.is_string()) {
                in.charge(a.as_string().size() + b.as_string().size());
                return Value(a.as_string() + b.as_string());
            }
            if (a.is_array() && b.is_array()) {
                in.check_list_size(a.as_array().size() + b.as_array().size());
                Array out = a.as_array();
                out.insert(out.end(), b.as_array().begin(), b.as_array().end());
                in.tick(out.size());
                return Value(std::move(out));
            }
            // @huggingface/jinja concatenates a string with a number or boolean.
            if ((a.is_string() && numeric(b)) || (numeric(a) && b.is_string()))
                return in.make_string(to_display_string(a, in.limits().max_string_bytes) +
                                      to_display_string(b, in.limits().max_string_bytes));
            break;
        case BinaryOp::mul:
            if ((a.is_string() || a.is_array()) && (b.is_int() || b.is_bool())) return repeat(in, a, b);
            if ((b.is_string() || b.is_array()) && (a.is_int() || a.is_bool())) return repeat(in, b, a);
            break;
        default:
            break;
    }
    if (numeric(a) && numeric(b)) return arithmetic(op, a, b);
    unsupported(op, a, b);
}

Value slice_value(Interpreter& in, const Value& obj, const Value& start, const Value& stop,
                  const Value& step) {
    auto bound = [](const Value& v, const char* what) -> std::optional<int64_t> {
        if (v.is_undefined() || v.is_none()) return std::nullopt;
        if (v.is_int()) return v.as_int();
        if (v.is_bool()) return int64_t{v.as_bool()};
        template_error(fmt::format("slice {} must be an integer or none, not {}", what, v.type_name()));
    };
    auto b0 = bound(start, "start"), b1 = bound(stop, "stop"), b2 = bound(step, "step");
    int64_t st = b2.value_or(1);
    if (st == 0) template_error("slice step cannot be zero");
    if (!obj.is_array() && !obj.is_string())
        template_error(fmt::format("cannot slice a {} value", obj.type_name()));
    std::vector<char32_t> cps;
    if (obj.is_string()) cps = utf8::code_points(obj.as_string());
    const int64_t n =
        obj.is_array() ? static_cast<int64_t>(obj.as_array().size()) : static_cast<int64_t>(cps.size());
    // Python's slice index adjustment.
    auto adjust = [&](std::optional<int64_t> v, int64_t dflt) {
        if (!v) return dflt;
        int64_t i = *v;
        if (i < 0) {
            i += n;
            if (i < 0) i = st < 0 ? -1 : 0;
        } else if (i >= n) {
            i = st < 0 ? n - 1 : n;
        }
        return i;
    };
    int64_t lo = adjust(b0, st < 0 ? n - 1 : 0);
    int64_t hi = adjust(b1, st < 0 ? -1 : n);
    std::vector<int64_t> idx;
    for (int64_t i = lo; st > 0 ? i < hi : i > hi; i += st) {
        idx.push_back(i);
        if ((st > 0 && i > INT64_MAX - st) || (st < 0 && i < INT64_MIN - st)) break;
    }
    in.tick(idx.size());
    if (obj.is_array()) {
        Array out;
        out.reserve(idx.size());
        for (int64_t i : idx) out.push_back(obj.as_array()[static_cast<size_t>(i)]);
        return Value(std::move(out));
    }
    std::string out;
    for (int64_t i : idx) utf8::append(out, cps[static_cast<size_t>(i)]);
    return in.make_string(std::move(out));
}

}  // namespace kinglet::chat
