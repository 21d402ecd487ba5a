// Scalar reference dot products of Q2_K, Q3_K, IQ4_XS (against Q8_K) and IQ4_NL (against Q8_0). As for
// the other quantized pairs (dot.cpp), integer products are summed exactly in 8 lanes of 4 consecutive
// elements per 32, times the sub-block scale, and each lane takes one fused multiply-add per block:
//   - Q3_K, IQ4_XS: acc = fma(d_w * d_a, lane, acc) per super-block (lane sums run over all 8 groups
//     of 32; Q3_K's 16 sub-block scales and IQ4_XS's 8 are signed, bias 32 removed).
//   - Q2_K: first the min term, acc = fma(-d_a * dmin_w, mins_l, acc) with mins_l = m[2l] bsums[2l] +
//     m[2l+1] bsums[2l+1] (sub-block mins times the activations' sums per 16), then the scaled levels,
//     acc = fma(d_a * d_w, lane, acc); both in the same 8 lanes, as llama.cpp's AVX2 kernel does.
//   - IQ4_NL: exactly like Q4_0 with the level looked up in kIQ4Levels (fma(d_w * d_a, lane, acc) per
//     block of 32). llama.cpp's AVX2 kernel splits even and odd blocks into two accumulators; following
//     that changed none of the reference test's logits, so kinglet keeps the Q4_0 order.
// The lanes are summed (l0+l4 + l2+l6) + (l1+l5 + l3+l7). No int32 can overflow: the largest lane,
// IQ4_XS's, is at most 8 * 4 * 32 * 127 * 127 < 2^24, so it also converts to float exactly.
#include "tensor/dot_lowbit.h"

#include "core/error.h"
#include "tensor/dot_lanes.h"
#include "tensor/fp16.h"
#include "tensor/quant_blocks.h"

namespace kinglet::detail {
namespace {

// Level (0..3) of element e of a Q2_K block, and its Q3_K low bits: bit pair 2 ((e % 128) / 32) of byte
// 32 (e / 128) + e % 32.
int k2_pair(const uint8_t* qs, int e) { return (qs[32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3; }

// Level (-4..3) of element e of a Q3_K block: the pair with the high bit e / 32 of hmask[e % 32], minus 4.
int q3_K_level(const BlockQ3_K& b, int e) { return (k2_pair(b.qs, e) | (((b.hmask[e % 32] >> (e / 32)) & 1) << 2)) - 4; }

// Level of element e (0..31) of the 16 packed bytes of an IQ4 block or sub-block.
int iq4_level(const uint8_t* qs, int e) { return kIQ4Levels[e < 16 ? (qs[e] & 0xF) : (qs[e - 16] >> 4)]; }

// Lanes of one 256-element super-block: lane l sums scale(e) * level(e) * a[e] over the elements e with
// (e % 32) / 4 == l.
template <typename ScaledLevel>
void super_lanes(ScaledLevel scaled_level, const int8_t* a, int32_t (&lane)[8]) {
    for (int l = 0; l < 8; ++l) lane[l] = 0;
    for (int g = 0; g < 8; ++g)
        for (int l = 0; l < 8; ++l)
            for (int e = 32 * g + 4 * l; e < 32 * g + 4 * l + 4; ++e) lane[l] += scaled_level(e) * a[e];
}

float dot_q2_K(int64_t n, const BlockQ2_K* x, const BlockQ8_K* y) {
    Lanes acc;
    int32_t lane[8];
    for (int64_t i = 0; i < n / QK_K; ++i) {
        const float d = y[i].d * fp16_to_fp32(x[i].d);
        const float dmin = -y[i].d * fp16_to_fp32(x[i].dmin);
        for (int l = 0; l < 8; ++l)
            lane[l] = (x[i].scales[2 * l] >> 4) * y[i].bsums[2 * l] + (x[i].scales[2 * l + 1] >> 4) * y[i].bsums[2 * l + 1];
        acc.add(dmin, lane);
        super_lanes([&](int e) { return (x[i].scales[e / 16] & 0xF) * k2_pair(x[i].qs, e); }, y[i].qs, lane);
        acc.add(d, lane);
    }
    return acc.sum();
}

float dot_q3_K(int64_t n, const BlockQ3_K* x, const BlockQ8_K* y) {
    Lanes acc;
    int32_t lane[8];
    for (int64_t i = 0; i < n / QK_K; ++i) {
        const float d = y[i].d * fp16_to_fp32(x[i].d);
        int sc[16];
        for (int j = 0; j < 16; ++j) sc[j] = q3_K_scale(x[i].scales, j) - 32;
        super_lanes([&](int e) { return sc[e / 16] * q3_K_level(x[i], e); }, y[i].qs, lane);
        acc.add(d, lane);
    }
    return acc.sum();
}

float dot_iq4_xs(int64_t n, const BlockIQ4_XS* x, const BlockQ8_K* y) {
    Lanes acc;
    int32_t lane[8];
    for (int64_t i = 0; i < n / QK_K; ++i) {
        const float d = fp16_to_fp32(x[i].d) * y[i].d;
        int sc[8];
        for (int j = 0; j < 8; ++j) sc[j] = iq4_xs_scale(x[i], j) - 32;
        super_lanes([&](int e) { return sc[e / 32] * iq4_level(x[i].qs + 16 * (e / 32), e % 32); }, y[i].qs, lane);
        acc.add(d, lane);
    }
    return acc.sum();
}

float dot_iq4_nl(int64_t n, const BlockIQ4_NL* x, const BlockQ8_0* y) {
    Lanes acc;
    int32_t lane[8];
    for (int64_t i = 0; i < n / QK4_NL; ++i) {
        for (int l = 0; l < 8; ++l) {
            lane[l] = 0;
            for (int e = 4 * l; e < 4 * l + 4; ++e) lane[l] += iq4_level(x[i].qs, e) * y[i].qs[e];
        }
        acc.add(fp16_to_fp32(x[i].d) * fp16_to_fp32(y[i].d), lane);
    }
    return acc.sum();
}

}  // namespace

float dot_lowbit(DType weight, int64_t n, const void* w, const void* a) {
    switch (weight) {
        case DType::Q2_K:
            return dot_q2_K(n, static_cast<const BlockQ2_K*>(w), static_cast<const BlockQ8_K*>(a));
        case DType::Q3_K:
            return dot_q3_K(n, static_cast<const BlockQ3_K*>(w), static_cast<const BlockQ8_K*>(a));
        case DType::IQ4_XS:
            return dot_iq4_xs(n, static_cast<const BlockIQ4_XS*>(w), static_cast<const BlockQ8_K*>(a));
        case DType::IQ4_NL:
            return dot_iq4_nl(n, static_cast<const BlockIQ4_NL*>(w), static_cast<const BlockQ8_0*>(a));
        default:
            break;
    }
    fail(Errc::internal, "dot_lowbit: {} is not a low-bit type", dtype_name(weight));
}

}  // namespace kinglet::detail
