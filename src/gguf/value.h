// A GGUF metadata value: a scalar, a string, or an array (of scalars, strings, or arrays).
// Values own their data (metadata is small next to the weights, which stay in the map).
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace kinglet::gguf {

enum class ValueType : uint32_t {
    UINT8 = 0,
    INT8 = 1,
    UINT16 = 2,
    INT16 = 3,
    UINT32 = 4,
    INT32 = 5,
    FLOAT32 = 6,
    BOOL = 7,
    STRING = 8,
    ARRAY = 9,
    UINT64 = 10,
    INT64 = 11,
    FLOAT64 = 12,
};

const char* value_type_name(ValueType t);
// Bytes of one element of a fixed-size type; 0 for STRING and ARRAY.
size_t value_type_size(ValueType t);
bool value_type_valid(uint32_t t);

class Value {
public:
    Value() = default;
    static Value u8(uint8_t v) { return scalar(ValueType::UINT8, &v, 1); }
    static Value i8(int8_t v) { return scalar(ValueType::INT8, &v, 1); }
    static Value u16(uint16_t v) { return scalar(ValueType::UINT16, &v, 2); }
    static Value i16(int16_t v) { return scalar(ValueType::INT16, &v, 2); }
    static Value u32(uint32_t v) { return scalar(ValueType::UINT32, &v, 4); }
    static Value i32(int32_t v) { return scalar(ValueType::INT32, &v, 4); }
    static Value u64(uint64_t v) { return scalar(ValueType::UINT64, &v, 8); }
    static Value i64(int64_t v) { return scalar(ValueType::INT64, &v, 8); }
    static Value f32(float v) { return scalar(ValueType::FLOAT32, &v, 4); }
    static Value f64(double v) { return scalar(ValueType::FLOAT64, &v, 8); }
    static Value boolean(bool v) { uint8_t b = v ? 1 : 0; return scalar(ValueType::BOOL, &b, 1); }
    static Value string(std::string s);
    // An array of a fixed-size element type from raw little-endian bytes (count * size bytes).
    static Value array_raw(ValueType elem, const void* data, uint64_t count);
    static Value array_strings(std::vector<std::string> items);
    static Value array_values(ValueType elem, std::vector<Value> items);  // elem must match items
    template <typename T>
    static Value array_of(ValueType elem, const std::vector<T>& v) {
        return array_raw(elem, v.data(), v.size());
    }

    ValueType type() const { return type_; }
    bool is_string() const { return type_ == ValueType::STRING; }
    bool is_array() const { return type_ == ValueType::ARRAY; }
    bool is_integer() const;
    bool is_number() const;  // integer, float or bool

    // Scalar accessors: numeric conversion from any numeric scalar type. Throw Error(invalid_file)
    // naming `what` when the value is not a number (or a negative where unsigned is asked).
    int64_t as_i64(std::string_view what = "value") const;
    uint64_t as_u64(std::string_view what = "value") const;
    double as_f64(std::string_view what = "value") const;
    bool as_bool(std::string_view what = "value") const;
    const std::string& as_string(std::string_view what = "value") const;

    // Arrays.
    ValueType elem_type() const { return elem_; }
    uint64_t size() const { return count_; }
    const std::string& string_at(size_t i) const { return strings_[i]; }
    const std::vector<std::string>& strings() const { return strings_; }
    const Value& at(size_t i) const { return items_[i]; }      // nested arrays
    double number_at(size_t i) const;                           // numeric element as double
    int64_t int_at(size_t i) const;                             // integer element
    const uint8_t* raw() const { return bytes_.data(); }        // fixed-size elements, little endian
    size_t raw_size() const { return bytes_.size(); }

    // Human-readable rendering (arrays abbreviated after `max_items`), for `kinglet info`.
    std::string to_string(size_t max_items = 8) const;

private:
    static Value scalar(ValueType t, const void* p, size_t n);
    ValueType type_ = ValueType::UINT8;
    ValueType elem_ = ValueType::UINT8;  // for arrays
    uint64_t count_ = 0;                 // for arrays
    std::vector<uint8_t> bytes_;         // scalar or fixed-size array payload
    std::string str_;                    // STRING
    std::vector<std::string> strings_;   // array of STRING
    std::vector<Value> items_;           // array of ARRAY
    friend class Reader;
    friend class Writer;
};

}  // namespace kinglet::gguf
