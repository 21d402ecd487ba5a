// The values a chat template computes with: Jinja's undefined, none, booleans, 64-bit integers, floats,
// strings (UTF-8), lists, ordered dicts, namespaces (the one mutable kind) and callables.
//
// Lists, dicts and strings are immutable once built and shared by pointer, so copying a Value is cheap
// and a hostile template cannot make aliasing visible. Nesting depth is recorded at construction so
// printing, comparing and destroying a value never recurses without bound.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

namespace kinglet::chat {

class Value;
class Interpreter;
using Array = std::vector<Value>;

class Object;
struct CallArgs;
struct Callable;

struct NoneTag {};

// A runtime error in a template; the interpreter prefixes the template position.
struct TemplateError {
    std::string message;
    bool positioned = false;
};
[[noreturn]] void template_error(std::string message);

// The evaluation-step budget of the render running on this thread. Everything that walks values
// (comparisons, sorting, printing) spends from it, so no operation is unbounded.
class WorkBudget {
  public:
    explicit WorkBudget(size_t max_steps);
    ~WorkBudget();
    WorkBudget(const WorkBudget&) = delete;
    WorkBudget& operator=(const WorkBudget&) = delete;
    size_t max_steps() const { return max_; }

  private:
    size_t max_;
    size_t used_ = 0;
    WorkBudget* prev_;
    friend void spend(size_t);
};
// Throws TemplateError once the current budget is exhausted; free when no budget is active.
void spend(size_t steps = 1);

class Value {
  public:
    enum class Type : uint8_t {
        undefined,
        none,
        boolean,
        integer,
        floating,
        string,
        array,
        object,
        ns,
        callable
    };

    Value() = default;  // undefined
    Value(NoneTag) : v_(NoneTag{}) {}
    Value(bool b) : v_(b) {}
    Value(int64_t i) : v_(i) {}
    Value(int i) : v_(int64_t{i}) {}
    Value(double d) : v_(d) {}
    Value(std::string s) : v_(std::make_shared<const std::string>(std::move(s))) {}
    Value(const char* s) : Value(std::string(s)) {}
    Value(Array a);
    Value(Object o);
    static Value none() { return Value(NoneTag{}); }
    static Value make_namespace(Object o);
    static Value function(std::string name, std::function<Value(Interpreter&, CallArgs&)> fn);

    Type type() const { return static_cast<Type>(v_.index()); }
    bool is_undefined() const { return type() == Type::undefined; }
    bool is_none() const { return type() == Type::none; }
    bool is_bool() const { return type() == Type::boolean; }
    bool is_int() const { return type() == Type::integer; }
    bool is_float() const { return type() == Type::floating; }
    bool is_number() const { return is_int() || is_float(); }
    bool is_string() const { return type() == Type::string; }
    bool is_array() const { return type() == Type::array; }
    bool is_object() const { return type() == Type::object; }
    bool is_namespace() const { return type() == Type::ns; }
    bool is_callable() const { return type() == Type::callable; }

    bool as_bool() const { return std::get<bool>(v_); }
    int64_t as_int() const { return std::get<int64_t>(v_); }
    double as_float() const { return std::get<double>(v_); }
    double as_number() const { return is_int() ? static_cast<double>(as_int()) : as_float(); }
    const std::string& as_string() const { return *std::get<StrPtr>(v_); }
    const Array& as_array() const;
    // Dicts and namespaces both expose their entries here.
    const Object& as_object() const;
    Object& namespace_entries() const;
    const Callable& as_callable() const;
    const void* identity() const;  // the shared payload (sameas, cycle checks)

    // Nesting depth: 0 for scalars, 1 + deepest child for containers.
    uint32_t depth() const;
    bool truthy() const;
    const char* type_name() const;

  private:
    struct ArrBox;
    struct ObjBox;
    struct NsBox;
    using StrPtr = std::shared_ptr<const std::string>;
    using ArrPtr = std::shared_ptr<const ArrBox>;
    using ObjPtr = std::shared_ptr<const ObjBox>;
    using NsPtr = std::shared_ptr<NsBox>;
    using FnPtr = std::shared_ptr<const Callable>;
    std::variant<std::monostate, NoneTag, bool, int64_t, double, StrPtr, ArrPtr, ObjPtr, NsPtr, FnPtr> v_;
};

// Insertion-ordered string-keyed map (Python dict semantics for what templates can observe).
class Object {
  public:
    const Value* find(std::string_view key) const;
    void set(std::string key, Value value);
    void reserve(size_t n) { items_.reserve(n); }
    // Adds an entry whose key the caller knows is new.
    void append(std::string key, Value value) {
        if (!index_.empty()) index_.emplace(key, items_.size());
        items_.emplace_back(std::move(key), std::move(value));
    }
    const std::vector<std::pair<std::string, Value>>& items() const { return items_; }
    size_t size() const { return items_.size(); }
    bool empty() const { return items_.empty(); }

  private:
    std::vector<std::pair<std::string, Value>> items_;
    mutable std::unordered_map<std::string, size_t> index_;  // built once the dict is large
};

// Arguments of a call: positional, then keyword (in source order).
struct CallArgs {
    std::vector<Value> positional;
    std::vector<std::pair<std::string, Value>> keyword;

    // The argument named `name`, else the positional at `index`, else nullptr.
    const Value* get(std::string_view name, size_t index) const;
    const Value* kw(std::string_view name) const;
};

struct Callable {
    std::string name;
    std::function<Value(Interpreter&, CallArgs&)> fn;
};

// Python-style equality (numbers by value, containers element-wise, undefined equals undefined).
bool values_equal(const Value& a, const Value& b);

// How `{{ x }}`, `~` and the `string` filter show a value (the @huggingface/jinja forms: true/false,
// lists and dicts as JSON with ", " and ": "; Python's repr for floats).
std::string to_display_string(const Value& v, size_t max_bytes = SIZE_MAX);
std::string format_float(double d);

struct JsonOptions {
    int indent = -1;  // < 0: single line
    bool ensure_ascii = false;
    bool sort_keys = false;
    std::string item_separator;  // empty: the json.dumps default for the indent
    std::string key_separator;
    bool has_separators = false;
    size_t max_bytes = SIZE_MAX;  // longer output is a TemplateError
};
// json.dumps as Hugging Face's `tojson` filter calls it (ensure_ascii=False by default).
std::string to_json(const Value& v, const JsonOptions& opts);

Value from_json(const nlohmann::ordered_json& j);
Value from_json(const nlohmann::json& j);

}  // namespace kinglet::chat
