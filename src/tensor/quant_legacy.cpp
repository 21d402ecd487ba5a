// The 32-element block types: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 (weights) and Q8_1 (activations).
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>

#include "tensor/fp16.h"
#include "tensor/quant_blocks.h"

namespace kinglet::detail {
namespace {

// A float converted to an integer type the way x86's cvttss2si (which C compilers emit for the
// conversion) does: truncation toward zero, and 0x80000000 for NaN or out-of-range input. ggml's
// quantizers then narrow the result to 8 bits; doing the same keeps NaN/Inf input defined here.
inline int32_t trunc_x86(float v) {
    if (!(v > -2147483904.f && v < 2147483648.f)) return INT32_MIN;
    return static_cast<int32_t>(v);
}
inline int8_t to_i8(float v) {
    return static_cast<int8_t>(trunc_x86(v));
}
inline uint8_t to_u8(float v) {
    return static_cast<uint8_t>(trunc_x86(v));
}

// ggml's MAX(a, b) macro: a NaN in b propagates (std::max would drop it).
inline float max_like_ggml(float a, float b) {
    return a > b ? a : b;
}

// The signed value of the element with the largest magnitude (the first on ties). The symmetric
// formats scale by it, so that element maps exactly onto the extreme level -8 / -16.
inline float signed_absmax(const float* x, int n) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < n; ++j) {
        if (amax < std::fabs(x[j])) {
            amax = std::fabs(x[j]);
            max = x[j];
        }
    }
    return max;
}

inline void min_max(const float* x, int n, float* min, float* max) {
    *min = FLT_MAX;
    *max = -FLT_MAX;
    for (int j = 0; j < n; ++j) {
        if (x[j] < *min) *min = x[j];
        if (x[j] > *max) *max = x[j];
    }
}

// The 5th bits of a Q5 block: bit j of the little-endian 32-bit word is element j's.
inline void store_qh(uint8_t* qh, uint32_t bits) {
    for (int b = 0; b < 4; ++b) qh[b] = static_cast<uint8_t>(bits >> (8 * b));
}
inline uint32_t load_qh(const uint8_t* qh) {
    return qh[0] | (uint32_t{qh[1]} << 8) | (uint32_t{qh[2]} << 16) | (uint32_t{qh[3]} << 24);
}

}  // namespace

void quantize_q4_0(const float* x, BlockQ4_0* y, int64_t n) {
    for (int64_t i = 0; i < n / QK4_0; ++i, x += QK4_0) {
        const float d = signed_absmax(x, QK4_0) / -8;
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = fp32_to_fp16(d);
        for (int j = 0; j < QK4_0 / 2; ++j) {
            const float x0 = x[j] * id;
            const float x1 = x[j + QK4_0 / 2] * id;
            const int q0 = std::min<int>(15, to_i8(x0 + 8.5f));
            const int q1 = std::min<int>(15, to_i8(x1 + 8.5f));
            y[i].qs[j] = static_cast<uint8_t>(q0 | (q1 << 4));
        }
    }
}

void quantize_q4_1(const float* x, BlockQ4_1* y, int64_t n) {
    for (int64_t i = 0; i < n / QK4_1; ++i, x += QK4_1) {
        float min, max;
        min_max(x, QK4_1, &min, &max);
        const float d = (max - min) / 15;
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = fp32_to_fp16(d);
        y[i].m = fp32_to_fp16(min);
        for (int j = 0; j < QK4_1 / 2; ++j) {
            const float x0 = (x[j] - min) * id;
            const float x1 = (x[j + QK4_1 / 2] - min) * id;
            const int q0 = std::min<int>(15, to_i8(x0 + 0.5f));
            const int q1 = std::min<int>(15, to_i8(x1 + 0.5f));
            y[i].qs[j] = static_cast<uint8_t>(q0 | (q1 << 4));
        }
    }
}

void quantize_q5_0(const float* x, BlockQ5_0* y, int64_t n) {
    for (int64_t i = 0; i < n / QK5_0; ++i, x += QK5_0) {
        const float d = signed_absmax(x, QK5_0) / -16;
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = fp32_to_fp16(d);
        uint32_t qh = 0;
        for (int j = 0; j < QK5_0 / 2; ++j) {
            const float x0 = x[j] * id;
            const float x1 = x[j + QK5_0 / 2] * id;
            const uint8_t q0 = static_cast<uint8_t>(std::min<int>(31, to_i8(x0 + 16.5f)));
            const uint8_t q1 = static_cast<uint8_t>(std::min<int>(31, to_i8(x1 + 16.5f)));
            y[i].qs[j] = static_cast<uint8_t>((q0 & 0x0F) | ((q1 & 0x0F) << 4));
            qh |= ((q0 & 0x10u) >> 4) << j;
            qh |= ((q1 & 0x10u) >> 4) << (j + QK5_0 / 2);
        }
        store_qh(y[i].qh, qh);
    }
}

void quantize_q5_1(const float* x, BlockQ5_1* y, int64_t n) {
    for (int64_t i = 0; i < n / QK5_1; ++i, x += QK5_1) {
        float min, max;
        min_max(x, QK5_1, &min, &max);
        const float d = (max - min) / 31;
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = fp32_to_fp16(d);
        y[i].m = fp32_to_fp16(min);
        uint32_t qh = 0;
        for (int j = 0; j < QK5_1 / 2; ++j) {
            const float x0 = (x[j] - min) * id;
            const float x1 = (x[j + QK5_1 / 2] - min) * id;
            // ggml does not clamp here: (max - min) * id never rounds above 31.5.
            const uint8_t q0 = to_u8(x0 + 0.5f);
            const uint8_t q1 = to_u8(x1 + 0.5f);
            y[i].qs[j] = static_cast<uint8_t>((q0 & 0x0F) | ((q1 & 0x0F) << 4));
            qh |= ((q0 & 0x10u) >> 4) << j;
            qh |= ((q1 & 0x10u) >> 4) << (j + QK5_1 / 2);
        }
        store_qh(y[i].qh, qh);
    }
}

void quantize_q8_0(const float* x, BlockQ8_0* y, int64_t n) {
    for (int64_t i = 0; i < n / QK8_0; ++i, x += QK8_0) {
        float amax = 0.0f;
        for (int j = 0; j < QK8_0; ++j) amax = max_like_ggml(amax, std::fabs(x[j]));
        const float d = amax / 127;
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = fp32_to_fp16(d);
        for (int j = 0; j < QK8_0; ++j) y[i].qs[j] = to_i8(std::round(x[j] * id));  // half away from zero
    }
}

void quantize_q8_1(const float* x, BlockQ8_1* y, int64_t n) {
    for (int64_t i = 0; i < n / QK8_1; ++i, x += QK8_1) {
        float amax = 0.0f;
        for (int j = 0; j < QK8_1; ++j) amax = max_like_ggml(amax, std::fabs(x[j]));
        const float d = amax / 127;
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = fp32_to_fp16(d);
        int sum = 0;
        for (int j = 0; j < QK8_1; ++j) {
            y[i].qs[j] = to_i8(std::round(x[j] * id));
            sum += y[i].qs[j];
        }
        y[i].s = fp32_to_fp16(static_cast<float>(sum) * d);
    }
}

void dequantize_q4_0(const BlockQ4_0* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n / QK4_0; ++i, y += QK4_0) {
        const float d = fp16_to_fp32(x[i].d);
        for (int j = 0; j < QK4_0 / 2; ++j) {
            y[j] = static_cast<float>((x[i].qs[j] & 0x0F) - 8) * d;
            y[j + QK4_0 / 2] = static_cast<float>((x[i].qs[j] >> 4) - 8) * d;
        }
    }
}

void dequantize_q4_1(const BlockQ4_1* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n / QK4_1; ++i, y += QK4_1) {
        const float d = fp16_to_fp32(x[i].d);
        const float m = fp16_to_fp32(x[i].m);
        for (int j = 0; j < QK4_1 / 2; ++j) {
            y[j] = static_cast<float>(x[i].qs[j] & 0x0F) * d + m;
            y[j + QK4_1 / 2] = static_cast<float>(x[i].qs[j] >> 4) * d + m;
        }
    }
}

void dequantize_q5_0(const BlockQ5_0* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n / QK5_0; ++i, y += QK5_0) {
        const float d = fp16_to_fp32(x[i].d);
        const uint32_t qh = load_qh(x[i].qh);
        for (int j = 0; j < QK5_0 / 2; ++j) {
            const int h0 = ((qh >> j) & 1) << 4;
            const int h1 = ((qh >> (j + QK5_0 / 2)) & 1) << 4;
            y[j] = static_cast<float>(((x[i].qs[j] & 0x0F) | h0) - 16) * d;
            y[j + QK5_0 / 2] = static_cast<float>(((x[i].qs[j] >> 4) | h1) - 16) * d;
        }
    }
}

void dequantize_q5_1(const BlockQ5_1* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n / QK5_1; ++i, y += QK5_1) {
        const float d = fp16_to_fp32(x[i].d);
        const float m = fp16_to_fp32(x[i].m);
        const uint32_t qh = load_qh(x[i].qh);
        for (int j = 0; j < QK5_1 / 2; ++j) {
            const int h0 = ((qh >> j) & 1) << 4;
            const int h1 = ((qh >> (j + QK5_1 / 2)) & 1) << 4;
            y[j] = static_cast<float>((x[i].qs[j] & 0x0F) | h0) * d + m;
            y[j + QK5_1 / 2] = static_cast<float>((x[i].qs[j] >> 4) | h1) * d + m;
        }
    }
}

void dequantize_q8_0(const BlockQ8_0* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n / QK8_0; ++i, y += QK8_0) {
        const float d = fp16_to_fp32(x[i].d);
        for (int j = 0; j < QK8_0; ++j) y[j] = static_cast<float>(x[i].qs[j]) * d;
    }
}

void dequantize_q8_1(const BlockQ8_1* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n / QK8_1; ++i, y += QK8_1) {
        const float d = fp16_to_fp32(x[i].d);
        for (int j = 0; j < QK8_1; ++j) y[j] = static_cast<float>(x[i].qs[j]) * d;
    }
}

}  // namespace kinglet::detail
