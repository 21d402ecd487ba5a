#include "gguf/value.h"

#include <fmt/format.h>

#include "core/error.h"

namespace kinglet::gguf {

const char* value_type_name(ValueType t) {
    switch (t) {
        case ValueType::UINT8: return "uint8";
        case ValueType::INT8: return "int8";
        case ValueType::UINT16: return "uint16";
        case ValueType::INT16: return "int16";
        case ValueType::UINT32: return "uint32";
        case ValueType::INT32: return "int32";
        case ValueType::FLOAT32: return "float32";
        case ValueType::BOOL: return "bool";
        case ValueType::STRING: return "string";
        case ValueType::ARRAY: return "array";
        case ValueType::UINT64: return "uint64";
        case ValueType::INT64: return "int64";
        case ValueType::FLOAT64: return "float64";
    }
    return "?";
}

size_t value_type_size(ValueType t) {
    switch (t) {
        case ValueType::UINT8:
        case ValueType::INT8:
        case ValueType::BOOL: return 1;
        case ValueType::UINT16:
        case ValueType::INT16: return 2;
        case ValueType::UINT32:
        case ValueType::INT32:
        case ValueType::FLOAT32: return 4;
        case ValueType::UINT64:
        case ValueType::INT64:
        case ValueType::FLOAT64: return 8;
        case ValueType::STRING:
        case ValueType::ARRAY: return 0;
    }
    return 0;
}

bool value_type_valid(uint32_t t) { return t <= static_cast<uint32_t>(ValueType::FLOAT64); }

Value Value::scalar(ValueType t, const void* p, size_t n) {
    Value v;
    v.type_ = t;
    v.bytes_.assign(static_cast<const uint8_t*>(p), static_cast<const uint8_t*>(p) + n);
    return v;
}

Value Value::string(std::string s) {
    Value v;
    v.type_ = ValueType::STRING;
    v.str_ = std::move(s);
    return v;
}

Value Value::array_raw(ValueType elem, const void* data, uint64_t count) {
    Value v;
    v.type_ = ValueType::ARRAY;
    v.elem_ = elem;
    v.count_ = count;
    const auto* p = static_cast<const uint8_t*>(data);
    v.bytes_.assign(p, p + count * value_type_size(elem));
    return v;
}

Value Value::array_strings(std::vector<std::string> items) {
    Value v;
    v.type_ = ValueType::ARRAY;
    v.elem_ = ValueType::STRING;
    v.count_ = items.size();
    v.strings_ = std::move(items);
    return v;
}

Value Value::array_values(ValueType elem, std::vector<Value> items) {
    Value v;
    v.type_ = ValueType::ARRAY;
    v.elem_ = elem;
    v.count_ = items.size();
    if (elem == ValueType::STRING) {
        for (auto& it : items) v.strings_.push_back(it.str_);
    } else if (elem == ValueType::ARRAY) {
        v.items_ = std::move(items);
    } else {
        for (auto& it : items) v.bytes_.insert(v.bytes_.end(), it.bytes_.begin(), it.bytes_.end());
    }
    return v;
}

bool Value::is_integer() const {
    switch (type_) {
        case ValueType::UINT8:
        case ValueType::INT8:
        case ValueType::UINT16:
        case ValueType::INT16:
        case ValueType::UINT32:
        case ValueType::INT32:
        case ValueType::UINT64:
        case ValueType::INT64: return true;
        default: return false;
    }
}

bool Value::is_number() const {
    return is_integer() || type_ == ValueType::FLOAT32 || type_ == ValueType::FLOAT64 ||
           type_ == ValueType::BOOL;
}

namespace {

template <typename T>
T load(const uint8_t* p) {
    T v;
    std::memcpy(&v, p, sizeof(T));
    return v;
}

// Element `i` of fixed-size type `t` at `p` as a double (exact for every integer up to 2^53).
double number_of(ValueType t, const uint8_t* p) {
    switch (t) {
        case ValueType::UINT8: return load<uint8_t>(p);
        case ValueType::INT8: return load<int8_t>(p);
        case ValueType::UINT16: return load<uint16_t>(p);
        case ValueType::INT16: return load<int16_t>(p);
        case ValueType::UINT32: return load<uint32_t>(p);
        case ValueType::INT32: return load<int32_t>(p);
        case ValueType::FLOAT32: return load<float>(p);
        case ValueType::BOOL: return load<uint8_t>(p) != 0;
        case ValueType::UINT64: return static_cast<double>(load<uint64_t>(p));
        case ValueType::INT64: return static_cast<double>(load<int64_t>(p));
        case ValueType::FLOAT64: return load<double>(p);
        default: return 0;
    }
}

int64_t int_of(ValueType t, const uint8_t* p) {
    switch (t) {
        case ValueType::UINT8: return load<uint8_t>(p);
        case ValueType::INT8: return load<int8_t>(p);
        case ValueType::UINT16: return load<uint16_t>(p);
        case ValueType::INT16: return load<int16_t>(p);
        case ValueType::UINT32: return load<uint32_t>(p);
        case ValueType::INT32: return load<int32_t>(p);
        case ValueType::BOOL: return load<uint8_t>(p) != 0;
        case ValueType::UINT64: return static_cast<int64_t>(load<uint64_t>(p));
        case ValueType::INT64: return load<int64_t>(p);
        default: return 0;
    }
}

}  // namespace

int64_t Value::as_i64(std::string_view what) const {
    if (is_integer() || type_ == ValueType::BOOL) {
        if (type_ == ValueType::UINT64 && load<uint64_t>(bytes_.data()) > uint64_t(INT64_MAX))
            fail(Errc::invalid_file, "{} is too large ({})", what, load<uint64_t>(bytes_.data()));
        return int_of(type_, bytes_.data());
    }
    fail(Errc::invalid_file, "{} should be an integer but is a {}", what, value_type_name(type_));
}

uint64_t Value::as_u64(std::string_view what) const {
    if (type_ == ValueType::UINT64) return load<uint64_t>(bytes_.data());
    int64_t v = as_i64(what);
    if (v < 0) fail(Errc::invalid_file, "{} should not be negative (is {})", what, v);
    return static_cast<uint64_t>(v);
}

double Value::as_f64(std::string_view what) const {
    if (is_number()) return number_of(type_, bytes_.data());
    fail(Errc::invalid_file, "{} should be a number but is a {}", what, value_type_name(type_));
}

bool Value::as_bool(std::string_view what) const {
    if (is_number()) return number_of(type_, bytes_.data()) != 0;
    fail(Errc::invalid_file, "{} should be a bool but is a {}", what, value_type_name(type_));
}

const std::string& Value::as_string(std::string_view what) const {
    if (type_ == ValueType::STRING) return str_;
    fail(Errc::invalid_file, "{} should be a string but is a {}", what, value_type_name(type_));
}

double Value::number_at(size_t i) const {
    size_t sz = value_type_size(elem_);
    return sz ? number_of(elem_, bytes_.data() + i * sz) : 0.0;
}

int64_t Value::int_at(size_t i) const {
    size_t sz = value_type_size(elem_);
    return sz ? int_of(elem_, bytes_.data() + i * sz) : 0;
}

std::string Value::to_string(size_t max_items) const {
    switch (type_) {
        case ValueType::STRING: {
            std::string s = str_.size() > 80 ? str_.substr(0, 77) + "..." : str_;
            for (auto& c : s)
                if (c == '\n') c = ' ';
            return fmt::format("\"{}\"", s);
        }
        case ValueType::ARRAY: {
            std::string out = fmt::format("[{} × {}]", count_, value_type_name(elem_));
            size_t n = std::min<uint64_t>(count_, max_items);
            out += " [";
            for (size_t i = 0; i < n; ++i) {
                if (i) out += ", ";
                if (elem_ == ValueType::STRING) out += fmt::format("\"{}\"", strings_[i]);
                else if (elem_ == ValueType::ARRAY) out += items_[i].to_string(max_items);
                else if (elem_ == ValueType::FLOAT32 || elem_ == ValueType::FLOAT64) out += fmt::format("{}", number_at(i));
                else out += fmt::format("{}", int_at(i));
            }
            if (count_ > n) out += ", ...";
            return out + "]";
        }
        case ValueType::FLOAT32:
        case ValueType::FLOAT64: return fmt::format("{}", as_f64());
        case ValueType::BOOL: return as_bool() ? "true" : "false";
        case ValueType::UINT64: return fmt::format("{}", as_u64());
        default: return fmt::format("{}", as_i64());
    }
}

}  // namespace kinglet::gguf
