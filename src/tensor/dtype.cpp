#include "tensor/dtype.h"

#include <array>
#include <cassert>
#include <cctype>

namespace kinglet {
namespace {

// Block sizes and bytes per block as ggml defines them (ggml.c type_traits).
constexpr DTypeInfo kTypes[] = {
    {DType::F32, "f32", 1, 4, true},
    {DType::F16, "f16", 1, 2, true},
    {DType::Q4_0, "q4_0", 32, 18, true},
    {DType::Q4_1, "q4_1", 32, 20, true},
    {DType::Q5_0, "q5_0", 32, 22, true},
    {DType::Q5_1, "q5_1", 32, 24, true},
    {DType::Q8_0, "q8_0", 32, 34, true},
    {DType::Q8_1, "q8_1", 32, 36, false},
    {DType::Q2_K, "q2_K", 256, 84, true},
    {DType::Q3_K, "q3_K", 256, 110, true},
    {DType::Q4_K, "q4_K", 256, 144, true},
    {DType::Q5_K, "q5_K", 256, 176, true},
    {DType::Q6_K, "q6_K", 256, 210, true},
    {DType::Q8_K, "q8_K", 256, 292, false},
    {DType::IQ2_XXS, "iq2_xxs", 256, 66, false},
    {DType::IQ2_XS, "iq2_xs", 256, 74, false},
    {DType::IQ3_XXS, "iq3_xxs", 256, 98, false},
    {DType::IQ1_S, "iq1_s", 256, 50, false},
    {DType::IQ4_NL, "iq4_nl", 32, 18, true},
    {DType::IQ3_S, "iq3_s", 256, 110, false},
    {DType::IQ2_S, "iq2_s", 256, 82, false},
    {DType::IQ4_XS, "iq4_xs", 256, 136, true},
    {DType::I8, "i8", 1, 1, false},
    {DType::I16, "i16", 1, 2, false},
    {DType::I32, "i32", 1, 4, false},
    {DType::I64, "i64", 1, 8, false},
    {DType::F64, "f64", 1, 8, false},
    {DType::IQ1_M, "iq1_m", 256, 56, false},
    {DType::BF16, "bf16", 1, 2, true},
    {DType::TQ1_0, "tq1_0", 256, 54, false},
    {DType::TQ2_0, "tq2_0", 256, 66, false},
    {DType::MXFP4, "mxfp4", 32, 17, false},
};

constexpr size_t kMaxId = 40;

constexpr std::array<const DTypeInfo*, kMaxId> make_index() {
    std::array<const DTypeInfo*, kMaxId> idx{};
    for (const auto& t : kTypes) idx[static_cast<uint32_t>(t.type)] = &t;
    return idx;
}
constexpr auto kIndex = make_index();

}  // namespace

const DTypeInfo* dtype_info(uint32_t id) { return id < kMaxId ? kIndex[id] : nullptr; }

const DTypeInfo& dtype_info(DType t) {
    const DTypeInfo* p = dtype_info(static_cast<uint32_t>(t));
    assert(p);
    return *p;
}

std::optional<DType> dtype_from_name(std::string_view name) {
    for (const auto& t : kTypes) {
        std::string_view n = t.name;
        if (n.size() != name.size()) continue;
        bool eq = true;
        for (size_t i = 0; i < n.size() && eq; ++i)
            eq = std::tolower(static_cast<unsigned char>(n[i])) == std::tolower(static_cast<unsigned char>(name[i]));
        if (eq) return t.type;
    }
    return std::nullopt;
}

size_t row_bytes(DType t, int64_t n) {
    const DTypeInfo& info = dtype_info(t);
    assert(n % info.block_size == 0);
    return static_cast<size_t>(n / info.block_size) * info.block_bytes;
}

}  // namespace kinglet
