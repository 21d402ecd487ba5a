// Scalar reference dot products. The quantized pairs accumulate integer products per block exactly
// (int32 cannot overflow: the largest, Q6_K's, is at most 256 * 32 * 127 * 128 < 2^31) and apply the
// block's float scales once, as ggml's generic C paths do.
#include "tensor/dot.h"

#include <cstring>

#include "core/error.h"
#include "tensor/fp16.h"
#include "tensor/quant.h"
#include "tensor/quant_blocks.h"

namespace kinglet {
namespace {

float dot_f32(int64_t n, const float* x, const float* y) {
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i] * y[i]);
    return static_cast<float>(sum);
}

// Products of two halves (or two bfloat16s) are exact in float; the sum is kept in double.
float dot_f16(int64_t n, const uint16_t* x, const uint16_t* y) {
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(fp16_to_fp32(x[i]) * fp16_to_fp32(y[i]));
    return static_cast<float>(sum);
}

float dot_bf16(int64_t n, const uint16_t* x, const uint16_t* y) {
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(bf16_to_fp32(x[i]) * bf16_to_fp32(y[i]));
    return static_cast<float>(sum);
}

float dot_q4_0(int64_t n, const BlockQ4_0* x, const BlockQ8_0* y) {
    float sum = 0;
    for (int64_t i = 0; i < n / QK4_0; ++i) {
        int sumi = 0;
        for (int j = 0; j < QK4_0 / 2; ++j) {
            sumi += ((x[i].qs[j] & 0x0F) - 8) * y[i].qs[j];
            sumi += ((x[i].qs[j] >> 4) - 8) * y[i].qs[j + QK4_0 / 2];
        }
        sum += static_cast<float>(sumi) * (fp16_to_fp32(x[i].d) * fp16_to_fp32(y[i].d));
    }
    return sum;
}

// Q4_1 / Q5_1 carry an offset m per block, so the dot needs the activation block's sum, which Q8_1
// stores premultiplied by its scale: sum (d q + m) a = d dy sum(q qa) + m s.
float dot_q4_1(int64_t n, const BlockQ4_1* x, const BlockQ8_1* y) {
    float sum = 0;
    for (int64_t i = 0; i < n / QK4_1; ++i) {
        int sumi = 0;
        for (int j = 0; j < QK4_1 / 2; ++j) {
            sumi += (x[i].qs[j] & 0x0F) * y[i].qs[j];
            sumi += (x[i].qs[j] >> 4) * y[i].qs[j + QK4_1 / 2];
        }
        sum += (fp16_to_fp32(x[i].d) * fp16_to_fp32(y[i].d)) * static_cast<float>(sumi) +
               fp16_to_fp32(x[i].m) * fp16_to_fp32(y[i].s);
    }
    return sum;
}

inline uint32_t load_u32(const uint8_t* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);  // the block layout is little endian, as is every target kinglet builds for
    return v;
}

float dot_q5_0(int64_t n, const BlockQ5_0* x, const BlockQ8_0* y) {
    float sum = 0;
    for (int64_t i = 0; i < n / QK5_0; ++i) {
        const uint32_t qh = load_u32(x[i].qh);
        int sumi = 0;
        for (int j = 0; j < QK5_0 / 2; ++j) {
            const int h0 = ((qh >> j) & 1) << 4;
            const int h1 = ((qh >> (j + QK5_0 / 2)) & 1) << 4;
            sumi += (((x[i].qs[j] & 0x0F) | h0) - 16) * y[i].qs[j];
            sumi += (((x[i].qs[j] >> 4) | h1) - 16) * y[i].qs[j + QK5_0 / 2];
        }
        sum += static_cast<float>(sumi) * (fp16_to_fp32(x[i].d) * fp16_to_fp32(y[i].d));
    }
    return sum;
}

float dot_q5_1(int64_t n, const BlockQ5_1* x, const BlockQ8_1* y) {
    float sum = 0;
    for (int64_t i = 0; i < n / QK5_1; ++i) {
        const uint32_t qh = load_u32(x[i].qh);
        int sumi = 0;
        for (int j = 0; j < QK5_1 / 2; ++j) {
            const int h0 = ((qh >> j) & 1) << 4;
            const int h1 = ((qh >> (j + QK5_1 / 2)) & 1) << 4;
            sumi += ((x[i].qs[j] & 0x0F) | h0) * y[i].qs[j];
            sumi += ((x[i].qs[j] >> 4) | h1) * y[i].qs[j + QK5_1 / 2];
        }
        sum += (fp16_to_fp32(x[i].d) * fp16_to_fp32(y[i].d)) * static_cast<float>(sumi) +
               fp16_to_fp32(x[i].m) * fp16_to_fp32(y[i].s);
    }
    return sum;
}

float dot_q8_0(int64_t n, const BlockQ8_0* x, const BlockQ8_0* y) {
    float sum = 0;
    for (int64_t i = 0; i < n / QK8_0; ++i) {
        int sumi = 0;
        for (int j = 0; j < QK8_0; ++j) sumi += x[i].qs[j] * y[i].qs[j];
        sum += static_cast<float>(sumi) * (fp16_to_fp32(x[i].d) * fp16_to_fp32(y[i].d));
    }
    return sum;
}

// Q4_K / Q5_K: sum over sub-blocks of (d sc q - dmin m) * dy qa. The min term only needs the sums
// of the activation levels per 32, which Q8_K keeps per 16 in bsums.
template <typename Block, typename Level>
float dot_k4(int64_t n, const Block* x, const BlockQ8_K* y, Level level) {
    float sum = 0;
    for (int64_t i = 0; i < n / QK_K; ++i) {
        int sumi = 0, summ = 0;
        for (int j = 0; j < QK_K / 32; ++j) {
            uint8_t sc, m;
            detail::k4_scale_min(j, x[i].scales, &sc, &m);
            int s = 0;
            for (int l = 0; l < 32; ++l) s += level(x[i], 32 * j + l) * y[i].qs[32 * j + l];
            sumi += sc * s;
            summ += m * (y[i].bsums[2 * j] + y[i].bsums[2 * j + 1]);
        }
        sum += fp16_to_fp32(x[i].d) * y[i].d * static_cast<float>(sumi) -
               fp16_to_fp32(x[i].dmin) * y[i].d * static_cast<float>(summ);
    }
    return sum;
}

// Level (0..15) of element e of a Q4_K block: 64-element chunks, low nibbles first.
int q4_K_level(const BlockQ4_K& b, int e) {
    const uint8_t byte = b.qs[32 * (e / 64) + e % 32];
    return (e % 64) < 32 ? (byte & 0xF) : (byte >> 4);
}

// Level (0..31) of element e of a Q5_K block: the Q4_K nibble plus bit 2 (e/64) + (e%64 >= 32) of qh.
int q5_K_level(const BlockQ5_K& b, int e) {
    const uint8_t byte = b.qs[32 * (e / 64) + e % 32];
    const int low = (e % 64) < 32 ? (byte & 0xF) : (byte >> 4);
    const int bit = 2 * (e / 64) + ((e % 64) >= 32 ? 1 : 0);
    return low | (((b.qh[e % 32] >> bit) & 1) << 4);
}

float dot_q6_K(int64_t n, const BlockQ6_K* x, const BlockQ8_K* y) {
    float sum = 0;
    for (int64_t i = 0; i < n / QK_K; ++i) {
        int8_t q[QK_K];
        const uint8_t* ql = x[i].ql;
        const uint8_t* qh = x[i].qh;
        for (int base = 0; base < QK_K; base += 128, ql += 64, qh += 32) {
            for (int l = 0; l < 32; ++l) {
                q[base + l] = static_cast<int8_t>(((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
                q[base + l + 32] = static_cast<int8_t>(((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
                q[base + l + 64] = static_cast<int8_t>(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
                q[base + l + 96] = static_cast<int8_t>(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
            }
        }
        int sumi = 0;
        for (int j = 0; j < QK_K / 16; ++j) {
            int s = 0;
            for (int l = 0; l < 16; ++l) s += q[16 * j + l] * y[i].qs[16 * j + l];
            sumi += x[i].scales[j] * s;
        }
        sum += fp16_to_fp32(x[i].d) * y[i].d * static_cast<float>(sumi);
    }
    return sum;
}

}  // namespace

DType vec_dot_type(DType weight) {
    switch (weight) {
        case DType::F32:
            return DType::F32;
        case DType::F16:
            return DType::F16;
        case DType::BF16:
            return DType::BF16;
        case DType::Q4_0:
        case DType::Q5_0:
        case DType::Q8_0:
            return DType::Q8_0;
        case DType::Q4_1:
        case DType::Q5_1:
            return DType::Q8_1;
        case DType::Q4_K:
        case DType::Q5_K:
        case DType::Q6_K:
            return DType::Q8_K;
        default:
            break;
    }
    fail(Errc::unsupported, "no dot product for tensor type {}: kinglet cannot compute with it",
         dtype_name(weight));
}

void quantize_activation(DType act, const float* x, void* y, int64_t n) {
    switch (act) {
        case DType::F32:
        case DType::F16:
        case DType::BF16:
        case DType::Q8_0:
        case DType::Q8_1:
        case DType::Q8_K:
            return quantize_row(act, x, y, n);
        default:
            break;
    }
    fail(Errc::unsupported, "{} is not an activation format", dtype_name(act));
}

float vec_dot_ref(DType weight, int64_t n, const void* w, const void* a) {
    const DType act = vec_dot_type(weight);
    const int64_t bs = dtype_info(weight).block_size;
    if (n < 0 || n % bs != 0 || n % dtype_info(act).block_size != 0)
        fail(Errc::invalid_argument, "dot product of {} elements of {}: not a whole number of blocks", n,
             dtype_name(weight));
    switch (weight) {
        case DType::F32:
            return dot_f32(n, static_cast<const float*>(w), static_cast<const float*>(a));
        case DType::F16:
            return dot_f16(n, static_cast<const uint16_t*>(w), static_cast<const uint16_t*>(a));
        case DType::BF16:
            return dot_bf16(n, static_cast<const uint16_t*>(w), static_cast<const uint16_t*>(a));
        case DType::Q4_0:
            return dot_q4_0(n, static_cast<const BlockQ4_0*>(w), static_cast<const BlockQ8_0*>(a));
        case DType::Q4_1:
            return dot_q4_1(n, static_cast<const BlockQ4_1*>(w), static_cast<const BlockQ8_1*>(a));
        case DType::Q5_0:
            return dot_q5_0(n, static_cast<const BlockQ5_0*>(w), static_cast<const BlockQ8_0*>(a));
        case DType::Q5_1:
            return dot_q5_1(n, static_cast<const BlockQ5_1*>(w), static_cast<const BlockQ8_1*>(a));
        case DType::Q8_0:
            return dot_q8_0(n, static_cast<const BlockQ8_0*>(w), static_cast<const BlockQ8_0*>(a));
        case DType::Q4_K:
            return dot_k4(n, static_cast<const BlockQ4_K*>(w), static_cast<const BlockQ8_K*>(a), q4_K_level);
        case DType::Q5_K:
            return dot_k4(n, static_cast<const BlockQ5_K*>(w), static_cast<const BlockQ8_K*>(a), q5_K_level);
        case DType::Q6_K:
            return dot_q6_K(n, static_cast<const BlockQ6_K*>(w), static_cast<const BlockQ8_K*>(a));
        default:
            break;
    }
    fail(Errc::internal, "vec_dot_ref: no kernel for {}", dtype_name(weight));
}

}  // namespace kinglet
