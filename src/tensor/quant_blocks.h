// Per-type row converters behind quant.h's dispatch (internal to tensor/). Each follows ggml's
// reference routine for its type operation by operation: the float expressions keep ggml's
// order of evaluation, because a different order changes the rounding and therefore the bytes.
// n is a multiple of the block size (the dispatcher checks).
#pragma once
#include <cstdint>
#include <cstring>

#include "tensor/dtype.h"

namespace kinglet::detail {

// ggml's nearest_int: round to nearest, ties to even, by adding 1.5 * 2^23 and reading the mantissa.
// Exact for |f| <= 2^22; outside that range it returns what ggml's returns (not a saturated value).
inline int nearest_int(float f) {
    const float v = f + 12582912.f;
    int32_t i;
    std::memcpy(&i, &v, sizeof i);
    return (i & 0x007fffff) - 0x00400000;
}

// 32-element blocks (quant_legacy.cpp).
void quantize_q4_0(const float* x, BlockQ4_0* y, int64_t n);
void quantize_q4_1(const float* x, BlockQ4_1* y, int64_t n);
void quantize_q5_0(const float* x, BlockQ5_0* y, int64_t n);
void quantize_q5_1(const float* x, BlockQ5_1* y, int64_t n);
void quantize_q8_0(const float* x, BlockQ8_0* y, int64_t n);
void quantize_q8_1(const float* x, BlockQ8_1* y, int64_t n);
void dequantize_q4_0(const BlockQ4_0* x, float* y, int64_t n);
void dequantize_q4_1(const BlockQ4_1* x, float* y, int64_t n);
void dequantize_q5_0(const BlockQ5_0* x, float* y, int64_t n);
void dequantize_q5_1(const BlockQ5_1* x, float* y, int64_t n);
void dequantize_q8_0(const BlockQ8_0* x, float* y, int64_t n);
void dequantize_q8_1(const BlockQ8_1* x, float* y, int64_t n);

// 256-element super-blocks (quant_k.cpp).
void quantize_q4_K(const float* x, BlockQ4_K* y, int64_t n);
void quantize_q5_K(const float* x, BlockQ5_K* y, int64_t n);
void quantize_q6_K(const float* x, BlockQ6_K* y, int64_t n);
void quantize_q8_K(const float* x, BlockQ8_K* y, int64_t n);
void dequantize_q4_K(const BlockQ4_K* x, float* y, int64_t n);
void dequantize_q5_K(const BlockQ5_K* x, float* y, int64_t n);
void dequantize_q6_K(const BlockQ6_K* x, float* y, int64_t n);
void dequantize_q8_K(const BlockQ8_K* x, float* y, int64_t n);

// Low-bit types that kinglet reads but does not write (quant_lowbit.cpp).
void dequantize_q2_K(const BlockQ2_K* x, float* y, int64_t n);
void dequantize_q3_K(const BlockQ3_K* x, float* y, int64_t n);
void dequantize_iq4_nl(const BlockIQ4_NL* x, float* y, int64_t n);
void dequantize_iq4_xs(const BlockIQ4_XS* x, float* y, int64_t n);

// The 16 levels of IQ4_NL and IQ4_XS (ggml's kvalues_iq4nl): a non-uniform grid, denser near zero.
inline constexpr int8_t kIQ4Levels[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                          1,    13,   25,  38,  53,  69,  89,  113};

// The 6-bit scale (0..63, stored with a bias of 32) of sub-block j (0..15, 16 elements each) of a Q3_K
// super-block: its low nibble is nibble j / 8 of byte j % 8, its top two bits are bits 2 (j / 4) and
// 2 (j / 4) + 1 of byte 8 + j % 4.
inline int q3_K_scale(const uint8_t* s, int j) {
    return ((s[j % 8] >> (4 * (j / 8))) & 0xF) | (((s[8 + j % 4] >> (2 * (j / 4))) & 3) << 4);
}

// The 6-bit scale (0..63, bias 32) of sub-block j (0..7, 32 elements each) of an IQ4_XS super-block:
// low nibble j % 2 of scales_l[j / 2], top two bits 2 j and 2 j + 1 of scales_h.
inline int iq4_xs_scale(const BlockIQ4_XS& b, int j) {
    return ((b.scales_l[j / 2] >> (4 * (j % 2))) & 0xF) | (((b.scales_h >> (2 * j)) & 3) << 4);
}

// The 6-bit scale and min of sub-block j (0..7) of a Q4_K / Q5_K super-block: sub-blocks 0-3 keep
// theirs in the low 6 bits of bytes j and j+4; sub-blocks 4-7 split theirs into a low nibble in byte
// j+4 and the top two bits in the spare high bits of bytes j-4 (scale) and j (min).
inline void k4_scale_min(int j, const uint8_t* q, uint8_t* sc, uint8_t* m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

}  // namespace kinglet::detail
