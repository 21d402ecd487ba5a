// Scalar reference dot products. The quantized pairs accumulate integer products per block exactly
// (int32 cannot overflow: the largest, Q6_K's, is at most 256 * 32 * 127 * 128 < 2^31) and apply the
// block's float scales in the fixed order described below.
#include "tensor/dot.h"

#include <cmath>
#include <algorithm>
#include <cstring>
#include <type_traits>

#include "core/error.h"
#include "tensor/dot_lanes.h"
#include "tensor/dot_lowbit.h"
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

// F16 rows are summed as llama.cpp's ggml_vec_dot_f16 does on AVX-512 (llama.cpp uses it for every F16
// matrix whose rows are not a multiple of 16, e.g. the shared models' ffn_down, and these tiny models
// amplify a different rounding into visible logit changes): 64-element chunks in 4 x 16 float lanes,
// one FMA per element, lanes reduced as (a0 + a2) + (a1 + a3) and then by halving (16 -> 8 -> 4 -> 2
// -> 1); the elements after the last whole chunk are added in double. Products of two halves are exact.
float dot_f16(int64_t n, const uint16_t* x, const uint16_t* y) {
    double sum = 0.0;
    const int64_t bulk = n - n % 64;
    if (bulk > 0) {
        float lanes[4][16] = {};
        for (int64_t i = 0; i < bulk; i += 64)
            for (int j = 0; j < 4; ++j)
                for (int l = 0; l < 16; ++l) {
                    const int64_t e = i + 16 * j + l;
                    lanes[j][l] = std::fma(fp16_to_fp32(x[e]), fp16_to_fp32(y[e]), lanes[j][l]);
                }
        float r[16];
        for (int l = 0; l < 16; ++l) r[l] = (lanes[0][l] + lanes[2][l]) + (lanes[1][l] + lanes[3][l]);
        for (int w = 8; w >= 1; w /= 2)
            for (int l = 0; l < w; ++l) r[l] = r[l] + r[l + w];
        sum = r[0];
    }
    for (int64_t i = bulk; i < n; ++i) sum += static_cast<double>(fp16_to_fp32(x[i]) * fp16_to_fp32(y[i]));
    return static_cast<float>(sum);
}

// Products of two bfloat16s are exact in float; the sum is kept in double.

float dot_bf16(int64_t n, const uint16_t* x, const uint16_t* y) {
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(bf16_to_fp32(x[i]) * bf16_to_fp32(y[i]));
    return static_cast<float>(sum);
}

// ---- Quantized pairs ----------------------------------------------------------------------------
// Integer products are exact; only the float side has an order, and kinglet fixes it to the one
// llama.cpp's x86 kernels use, so kinglet's logits agree with llama.cpp's to the last bit where the
// rest of the computation agrees too (the reference tolerances in ../shared/models assume that):
//   - within every 32-element group, 8 "lanes" of 4 consecutive elements each sum their integer
//     products;
//   - each lane accumulates its own float with a fused multiply-add per block: acc = fma(d, lane, acc);
//   - the 8 lanes are then summed as (l0+l4 + l2+l6) + (l1+l5 + l3+l7).
// SIMD kernels follow the same order and are bit-identical to these. Q8_0, Q4_0, Q5_0, Q4_1 and Q5_1
// weights (dot_32_block_sums, dot_32_offset below) and Q4_K, Q5_K, Q6_K (dot_k4, dot_q6_K: one integer total
// per super-block) are the exceptions; a Q8_0 KV cache keeps the lane order (dot_q8_0_lanes).

using detail::Lanes;  // tensor/dot_lanes.h

// Lanes of one 32-element block: level(j) * a[j] summed over j = 4l .. 4l+3.
template <typename Level>
void block_lanes(Level level, const int8_t* a, int32_t (&lane)[8]) {
    for (int l = 0; l < 8; ++l) {
        int32_t s = 0;
        for (int j = 4 * l; j < 4 * l + 4; ++j) s += level(j) * a[j];
        lane[l] = s;
    }
}

inline uint32_t load_u32(const uint8_t* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);  // the block layout is little endian, as is every target kinglet builds for
    return v;
}

// A 32-element block type against Q8_0 in the lane order: sum over blocks of dw * da * (levels . activation
// levels), 8 lanes of 4 (now only a Q8_0 KV cache's keys, dot_q8_0_lanes).
template <typename Block, typename Level>
float dot_32(int64_t n, const Block* x, const BlockQ8_0* y, Level level) {
    Lanes acc;
    int32_t lane[8];
    for (int64_t i = 0; i < n / 32; ++i) {
        block_lanes([&](int j) { return level(x[i], j); }, y[i].qs, lane);
        acc.add(fp16_to_fp32(x[i].d) * fp16_to_fp32(y[i].d), lane);
    }
    return acc.sum();
}

// Q8_0, Q4_0 and Q5_0 against Q8_0 in their own order: each block's 32 products summed exactly as one
// integer, and block i accumulated into lane i % 8, acc = fma(dw * da, sum, acc); the lanes summed as
// Lanes::sum. A SIMD kernel then never sums within a block's float lanes: it can hold 16 rows in one vector
// (tensor/rows16.h; batched decode and prefill measured about 2x faster than in the per-element lane
// order), and one row walks 8 blocks per vector with no chain of dependent adds. Not llama.cpp's order:
// their logits differ from llama.cpp's in the last bits (the llama.cpp reference tests allow for
// that).
template <typename Block, typename Act, typename Level>
float dot_32_block_sums(int64_t n, const Block* x, const Act* y, Level level) {
    Lanes acc;
    for (int64_t i = 0; i < n / 32; ++i) {
        int32_t s = 0;
        for (int j = 0; j < 32; ++j) s += level(x[i], j) * y[i].qs[j];
        float& lane = acc.acc[i % 8];
        lane = std::fma(fp16_to_fp32(x[i].d) * fp16_to_fp32(y[i].d), static_cast<float>(s), lane);
    }
    return acc.sum();
}

// Q4_1 / Q5_1 carry an offset m per block, so the dot needs the activation block's sum, which Q8_1
// stores premultiplied by its scale: sum (d q + m) a = d dy sum(q qa) + m s. The first part in
// dot_32_block_sums' order (one integer per block, block i into lane i % 8), the second in one float
// chain, added after the lanes.
template <typename Block, typename Level>
float dot_32_offset(int64_t n, const Block* x, const BlockQ8_1* y, Level level) {
    float summs = 0;
    for (int64_t i = 0; i < n / 32; ++i) summs = std::fma(fp16_to_fp32(x[i].m), fp16_to_fp32(y[i].s), summs);
    return dot_32_block_sums(n, x, y, level) + summs;
}

int q4_0_level(const BlockQ4_0& b, int j) { return (j < 16 ? (b.qs[j] & 0x0F) : (b.qs[j - 16] >> 4)) - 8; }
int q4_1_level(const BlockQ4_1& b, int j) { return j < 16 ? (b.qs[j] & 0x0F) : (b.qs[j - 16] >> 4); }
int q5_low_high(const uint8_t* qs, const uint8_t* qh, int j) {
    const int low = j < 16 ? (qs[j] & 0x0F) : (qs[j - 16] >> 4);
    return low | (((load_u32(qh) >> j) & 1) << 4);
}
int q5_0_level(const BlockQ5_0& b, int j) { return q5_low_high(b.qs, b.qh, j) - 16; }
int q5_1_level(const BlockQ5_1& b, int j) { return q5_low_high(b.qs, b.qh, j); }
int q8_0_level(const BlockQ8_0& b, int j) { return b.qs[j]; }

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

// Level (-32..31) of element e of a Q6_K block: per 128 elements, 4 groups of 32 take the low or
// high nibble of ql[0..63] and a 2-bit field of qh[0..31].
int q6_K_level(const BlockQ6_K& b, int e) {
    const int half = e / 128, g = (e % 128) / 32, l = e % 32;
    const uint8_t low_byte = b.ql[64 * half + 32 * (g & 1) + l];
    const int low = (g < 2 ? low_byte : low_byte >> 4) & 0xF;
    return (low | (((b.qh[32 * half + l] >> (2 * g)) & 3) << 4)) - 32;
}

// Q4_K / Q5_K: sum over sub-blocks of (d sc q - dmin m) * dy qa. The min term only needs the sums
// of the activation levels per 32, which Q8_K keeps per 16 in bsums. The scaled products of a
// super-block are summed as one integer (exact) and join the float sum with one fused multiply-add per
// super-block, fma(d_w * d_a, total, acc): not llama.cpp's 8 float lanes, because summing a sub-block's
// products before its scale halves the multiplies of the grouped kernels (kernels/x86/gemm_rows16.h;
// docs/architecture.md).
template <typename Block, typename Level>
float dot_k4(int64_t n, const Block* x, const BlockQ8_K* y, Level level, bool vector_mins) {
    float acc = 0.0f;
    float mins4[4] = {};  // Q4_K keeps 4 partial sums of the min term, Q5_K one
    float summs = 0;
    for (int64_t i = 0; i < n / QK_K; ++i) {
        const float d = y[i].d * fp16_to_fp32(x[i].d);
        const float dmin = -y[i].d * fp16_to_fp32(x[i].dmin);
        uint8_t sc[8], m[8];
        for (int j = 0; j < 8; ++j) detail::k4_scale_min(j, x[i].scales, &sc[j], &m[j]);
        int32_t pair[4];
        for (int k = 0; k < 4; ++k) {
            pair[k] = 0;
            for (int j = 2 * k; j < 2 * k + 2; ++j) pair[k] += m[j] * (y[i].bsums[2 * j] + y[i].bsums[2 * j + 1]);
        }
        if (vector_mins) {
            for (int k = 0; k < 4; ++k) mins4[k] = std::fma(dmin, static_cast<float>(pair[k]), mins4[k]);
        } else {
            summs = std::fma(dmin, static_cast<float>(pair[0] + pair[1] + pair[2] + pair[3]), summs);
        }
        int32_t total = 0;
        for (int g = 0; g < 8; ++g) {
            int32_t sub = 0;
            for (int j = 32 * g; j < 32 * g + 32; ++j) sub += level(x[i], j) * y[i].qs[j];
            total += sc[g] * sub;
        }
        acc = std::fma(d, static_cast<float>(total), acc);
    }
    if (vector_mins) summs = (mins4[0] + mins4[2]) + (mins4[1] + mins4[3]);
    return acc + summs;
}

// As dot_k4: one integer total per super-block (each 16 elements' sum times its scale), one fma.
float dot_q6_K(int64_t n, const BlockQ6_K* x, const BlockQ8_K* y) {
    float acc = 0.0f;
    for (int64_t i = 0; i < n / QK_K; ++i) {
        const float d = y[i].d * fp16_to_fp32(x[i].d);
        int32_t total = 0;
        for (int g = 0; g < 16; ++g) {
            int32_t sub = 0;
            for (int j = 16 * g; j < 16 * g + 16; ++j) sub += q6_K_level(x[i], j) * y[i].qs[j];
            total += x[i].scales[g] * sub;
        }
        acc = std::fma(d, static_cast<float>(total), acc);
    }
    return acc;
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
        case DType::Q2_K:
        case DType::Q3_K:
        case DType::IQ4_XS:
            return DType::Q8_K;
        case DType::IQ4_NL:
            return DType::Q8_0;
        default:
            break;
    }
    fail(Errc::unsupported, "no dot product for tensor type {}: kinglet cannot compute with it",
         dtype_name(weight));
}

namespace {

// Activations (never stored) are quantized as llama.cpp's x86 runtime does, not as its reference
// quantizer: the inverse scale is 127 / amax (not 1 / d) and halves round to even.
template <typename Block>
void quantize_act_32(const float* x, Block* y, int64_t n) {
    for (int64_t i = 0; i < n / 32; ++i, x += 32) {
        float amax = 0;
        for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[j]));
        const float d = amax / 127.f;
        const float id = amax != 0.0f ? 127.f / amax : 0.0f;
        y[i].d = fp32_to_fp16(d);
        int32_t sum = 0;
        for (int j = 0; j < 32; ++j) {
            y[i].qs[j] = static_cast<int8_t>(std::nearbyint(x[j] * id));
            sum += y[i].qs[j];
        }
        if constexpr (std::is_same_v<Block, BlockQ8_1>) y[i].s = fp32_to_fp16(d * static_cast<float>(sum));
    }
}

}  // namespace

void quantize_activation(DType act, const float* x, void* y, int64_t n) {
    switch (act) {
        case DType::Q8_0:
            return quantize_act_32(x, static_cast<BlockQ8_0*>(y), n);
        case DType::Q8_1:
            return quantize_act_32(x, static_cast<BlockQ8_1*>(y), n);
        case DType::F32:
        case DType::F16:
        case DType::BF16:
        case DType::Q8_K:
            return quantize_row(act, x, y, n);
        default:
            break;
    }
    fail(Errc::unsupported, "{} is not an activation format", dtype_name(act));
}

float dot_q8_0_lanes(int64_t n, const void* k, const void* q) {
    if (n < 0 || n % 32 != 0)
        fail(Errc::invalid_argument, "Q8_0 dot product of {} elements: not whole blocks", n);
    return dot_32(n, static_cast<const BlockQ8_0*>(k), static_cast<const BlockQ8_0*>(q), q8_0_level);
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
            return dot_32_block_sums(n, static_cast<const BlockQ4_0*>(w), static_cast<const BlockQ8_0*>(a),
                                     q4_0_level);
        case DType::Q4_1:
            return dot_32_offset(n, static_cast<const BlockQ4_1*>(w), static_cast<const BlockQ8_1*>(a), q4_1_level);
        case DType::Q5_0:
            return dot_32_block_sums(n, static_cast<const BlockQ5_0*>(w), static_cast<const BlockQ8_0*>(a),
                                     q5_0_level);
        case DType::Q5_1:
            return dot_32_offset(n, static_cast<const BlockQ5_1*>(w), static_cast<const BlockQ8_1*>(a), q5_1_level);
        case DType::Q8_0:
            return dot_32_block_sums(n, static_cast<const BlockQ8_0*>(w), static_cast<const BlockQ8_0*>(a),
                                     q8_0_level);
        case DType::Q4_K:
            return dot_k4(n, static_cast<const BlockQ4_K*>(w), static_cast<const BlockQ8_K*>(a), q4_K_level, true);
        case DType::Q5_K:
            return dot_k4(n, static_cast<const BlockQ5_K*>(w), static_cast<const BlockQ8_K*>(a), q5_K_level, false);
        case DType::Q6_K:
            return dot_q6_K(n, static_cast<const BlockQ6_K*>(w), static_cast<const BlockQ8_K*>(a));
        case DType::Q2_K:
        case DType::Q3_K:
        case DType::IQ4_NL:
        case DType::IQ4_XS:
            return detail::dot_lowbit(weight, n, w, a);
        default:
            break;
    }
    fail(Errc::internal, "vec_dot_ref: no kernel for {}", dtype_name(weight));
}

}  // namespace kinglet
