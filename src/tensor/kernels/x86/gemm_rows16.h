// Q4_K, Q5_K and Q6_K weights in Layout::kRows16 (tensor/rows16.h) against Q8_K activations,
// bit-identical to the reference (tensor/dot.cpp's dot_k4, dot_q6_K): per super-block, a row's integer
// total is the sum over its sub-blocks of scale * (the sum of the sub-block's products), and the total
// joins the row's float sum in one fma(d_w * d_a, total, acc); Q4_K's min term keeps 4 partial sums,
// Q5_K's one. A group holds one row per 32-bit lane and a 64-byte chunk holds 4 bytes of each of its 16
// rows, so one broadcast group of 4 activations meets 16 rows in one multiply (vpdpbusd), which also
// adds the products to the sub-block's running sum; the scale joins once per sub-block (vpmulld), and
// nothing is summed across lanes.
// One token (decode) and several (batched decode, prompts: the _tokens kernels, where each load of
// weights meets up to 8 tokens) share the integer part (rows16_k4_totals, rows16_q6k_totals).
// Q8_0, Q4_0, Q5_0, Q4_1 and Q5_1 weights against Q8_0/Q8_1 activations (below, "the 32-block types"): one
// integer sum per block, any number of tokens, with AVX-512 VNNI and with AVX2.
#pragma once
#include <type_traits>
#include <utility>
#include <vector>

#include "tensor/kernels/x86/common.h"
#include "tensor/mat_ref.h"
#include "tensor/rows16.h"

namespace kinglet::kernels::KINGLET_ISA {

// Calls f(std::integral_constant<int, 0..N-1>) in order (loops whose index must be a constant).
template <int N, class F>
inline void rows16_unroll(F&& f) {
    [&]<int... I>(std::integer_sequence<int, I...>) {
        (f(std::integral_constant<int, I>()), ...);
    }
    (std::make_integer_sequence<int, N>());
}

// Tokens per panel of the several-token kernels: a panel's activations (32 x 292 bytes per super-block:
// 300 KiB for an 8192-wide row) and the rows of a call stay in L2 while every group of the call meets them.
constexpr int64_t kRows16Panel = 32;

// The walk of the several-token kernels over rows [r0, r1) (whole groups) and n_tok tokens: panel by
// panel, each group against up to MaxT tokens at a time (a group's block stays in L1 between the passes):
// pass(group, first token, std::integral_constant<int, tokens>).
template <int MaxT, class F>
inline void rows16_passes(int64_t r0, int64_t r1, int64_t n_tok, F&& pass) {
    for (int64_t p0 = 0; p0 < n_tok; p0 += kRows16Panel)
        for (int64_t g = r0 / kRows16; g < (r1 + kRows16 - 1) / kRows16; ++g)
            for (int64_t t0 = p0; t0 < n_tok && t0 < p0 + kRows16Panel; t0 += MaxT) {
                const int64_t n = n_tok - t0 < MaxT ? n_tok - t0 : MaxT;
                rows16_unroll<MaxT>([&](auto i) {  // n as a constant
                    constexpr int kN = decltype(i)::value + 1;
                    if (n == kN) pass(g, t0, std::integral_constant<int, kN>());
                });
            }
}

// ---- The 32-element block types in groups: Q8_0, Q4_0, Q5_0 (against Q8_0 activations) and Q4_1, Q5_1
// (against Q8_1), bit-identical to tensor/dot.cpp's dot_32_block_sums and dot_32_offset: per block one
// integer sum per (row, token), then fma(d_w * d_a, sum, acc) into accumulator lane b % 8 of block b; Q4_1
// and Q5_1 add m_w * s_a of every block in a float chain of their own, added after the lanes. The levels
// enter vpdpbusd unsigned (Q8_0's stored + 128), so each sum starts at -bias times the sum of the token's
// 32 activation levels (bias 128, 8, 16; 0 for Q4_1/Q5_1).

// Per activation block of a group's tokens (both families).
struct Rows16Q32Act {
    float d;      // the activation block's scale
    int32_t neg;  // -bias * (the sum of its levels): the weight type's bias (Rows16Q32Layout::kBias)
    float s;      // Q8_1: d * (the sum of its levels), as stored; else 0
};

// Where a type's pieces lie in a group's block (tensor/rows16.h), and its bias and offset.
template <size_t Block, size_t M, size_t Qh, size_t Qs, int32_t Bias>
struct Rows16Q32Layout {
    static constexpr size_t kBlock = Block;
    static constexpr size_t kM = M;    // the 16 rows' offsets m (F16); 0: none (Q8_0, Q4_0, Q5_0)
    static constexpr size_t kQh = Qh;  // the chunk of fifth bits; 0: none
    static constexpr size_t kQs = Qs;  // the levels (Q8_0: 8 chunks of bytes; else 4 chunks of nibbles)
    static constexpr int32_t kBias = Bias;
    static constexpr bool kOffset = M != 0;
    using Act = std::conditional_t<kOffset, BlockQ8_1, BlockQ8_0>;
};
using Rows16Q80 = Rows16Q32Layout<kRows16Q8Block, 0, 0, kRows16Q8Qs, 128>;
using Rows16Q40 = Rows16Q32Layout<kRows16Q40Block, 0, 0, kRows16Q40Qs, 8>;
using Rows16Q50 = Rows16Q32Layout<kRows16Q50Block, 0, kRows16Q50Qh, kRows16Q50Qs, 16>;
using Rows16Q41 = Rows16Q32Layout<kRows16Q41Block, kRows16Q1M, 0, kRows16Q41Qs, 0>;
using Rows16Q51 = Rows16Q32Layout<kRows16Q51Block, kRows16Q1M, kRows16Q51Qh, kRows16Q51Qs, 0>;
template <DType Type>
using Rows16Q32Of = std::conditional_t<
    Type == DType::Q4_0, Rows16Q40,
    std::conditional_t<Type == DType::Q5_0, Rows16Q50,
                       std::conditional_t<Type == DType::Q4_1, Rows16Q41,
                                          std::conditional_t<Type == DType::Q5_1, Rows16Q51, Rows16Q80>>>>;
constexpr bool rows16_q32_type(DType t) {
    return t == DType::Q8_0 || t == DType::Q4_0 || t == DType::Q5_0 || t == DType::Q4_1 || t == DType::Q5_1;
}

// The Rows16Q32Act of every block of n_tok tokens, token after token, into out.
template <class G>
inline void rows16_q32_acts(const uint8_t* a, size_t a_stride, int64_t n_tok, int64_t nb, Rows16Q32Act* out) {
    for (int64_t t = 0; t < n_tok; ++t) {
        const auto* x = reinterpret_cast<const typename G::Act*>(a + t * a_stride);
        for (int64_t b = 0; b < nb; ++b) {
            if constexpr (G::kOffset) {
                out[t * nb + b] = {f16(x[b].d), 0, f16(x[b].s)};
                continue;
            }
            // The levels + 128 summed by vpsadbw (4 partial sums of 8), then - 32 * 128.
            const __m256i u = _mm256_xor_si256(load256(x[b].qs), _mm256_set1_epi8(char(0x80)));
            const __m256i sad = _mm256_sad_epu8(u, _mm256_setzero_si256());
            __m128i s = _mm_add_epi64(_mm256_castsi256_si128(sad), _mm256_extracti128_si256(sad, 1));
            s = _mm_add_epi64(s, _mm_unpackhi_epi64(s, s));
            out[t * nb + b] = {f16(x[b].d), -G::kBias * (_mm_cvtsi128_si32(s) - 32 * 128), 0.0f};
        }
    }
}

#if defined(__AVX512VNNI__)
// The 8 scales and 8 mins of a super-block for 16 rows, as 32-bit lanes, from the 12 packed bytes
// (stored [byte][row]): k4_scale_min on 16 rows at once.
inline void rows16_scales(const uint8_t* p, __m512i (&sc)[8], __m512i (&mn)[8]) {
    __m128i s[12];
    for (int i = 0; i < 12; ++i) s[i] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * i));
    const __m128i m6 = _mm_set1_epi8(63), m4 = _mm_set1_epi8(0x0F), hi2 = _mm_set1_epi8(0x30);
    for (int j = 0; j < 4; ++j) {
        sc[j] = _mm512_cvtepu8_epi32(_mm_and_si128(s[j], m6));
        mn[j] = _mm512_cvtepu8_epi32(_mm_and_si128(s[j + 4], m6));
    }
    for (int j = 4; j < 8; ++j) {
        // (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4) and (q[j + 4] >> 4) | ((q[j] >> 6) << 4); a 16-bit
        // shift brings the next byte's bits into the top, which the masks drop.
        const __m128i top_lo = _mm_and_si128(_mm_srli_epi16(s[j - 4], 2), hi2);
        const __m128i top_m = _mm_and_si128(_mm_srli_epi16(s[j], 2), hi2);
        sc[j] = _mm512_cvtepu8_epi32(_mm_or_si128(_mm_and_si128(s[j + 4], m4), top_lo));
        mn[j] = _mm512_cvtepu8_epi32(_mm_or_si128(_mm_and_si128(_mm_srli_epi16(s[j + 4], 4), m4), top_m));
    }
}

// The reference's sum of the 8 float lanes, (l0 + l4 + l2 + l6) + (l1 + l5 + l3 + l7), and of Q4_K's 4
// min sums, (m0 + m2) + (m1 + m3), for 16 rows.
inline __m512 rows16_lanes_sum(const __m512 (&acc)[8]) {
    const __m512 s0 = _mm512_add_ps(acc[0], acc[4]), s1 = _mm512_add_ps(acc[1], acc[5]);
    const __m512 s2 = _mm512_add_ps(acc[2], acc[6]), s3 = _mm512_add_ps(acc[3], acc[7]);
    return _mm512_add_ps(_mm512_add_ps(s0, s2), _mm512_add_ps(s1, s3));
}
inline __m512 rows16_mins_sum(const __m512 (&m)[4]) {
    return _mm512_add_ps(_mm512_add_ps(m[0], m[2]), _mm512_add_ps(m[1], m[3]));
}

// Q4_K / Q5_K: the reference's integer min term of a super-block for 16 rows, pr[k] = m[2k] * (sum of
// sub-block 2k's activations) + m[2k + 1] * (sum of 2k + 1's): the two mins as the two words of a lane
// (rows16_pack_mins, once per super-block) against the two activation sums (each within 16 bits) in
// one vpdpwssd. Then the float part: Q4_K keeps 4 partial sums, Q5_K adds the 4 as integers into one.
inline void rows16_pack_mins(const __m512i (&mn)[8], __m512i (&mn2)[4]) {
    for (int k = 0; k < 4; ++k) mn2[k] = _mm512_or_si512(mn[2 * k], _mm512_slli_epi32(mn[2 * k + 1], 16));
}
template <bool Q5>
inline void rows16_add_mins(const __m512i (&mn2)[4], const int16_t* bs, __m512 dmin, __m512 (&mins)[4]) {
    __m512i pr[4];
    for (int k = 0; k < 4; ++k) {
        const uint32_t s0 = uint16_t(bs[4 * k] + bs[4 * k + 1]), s1 = uint16_t(bs[4 * k + 2] + bs[4 * k + 3]);
        pr[k] = _mm512_dpwssd_epi32(_mm512_setzero_si512(), mn2[k], _mm512_set1_epi32(int(s0 | s1 << 16)));
    }
    if constexpr (Q5) {
        const __m512i all = _mm512_add_epi32(_mm512_add_epi32(pr[0], pr[1]), _mm512_add_epi32(pr[2], pr[3]));
        mins[0] = _mm512_fmadd_ps(dmin, _mm512_cvtepi32_ps(all), mins[0]);
    } else {
        for (int k = 0; k < 4; ++k) mins[k] = _mm512_fmadd_ps(dmin, _mm512_cvtepi32_ps(pr[k]), mins[k]);
    }
}

// Q6_K: scale i (int8) of a super-block's 16 rows as int32 lanes.
inline __m512i rows16_q6k_scale(const uint8_t* g, int i) {
    return _mm512_cvtepi8_epi32(
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(g + kRows16Q6Scales + 16 * i)));
}

// Q6_K: the unsigned levels (0..63) of the 4 groups of 32 of a triple (tensor/rows16.h), lane o of
// groups 4h .. 4h + 3: the low nibbles of its first chunk, of its second, the high nibbles of the first,
// of the second, each with its 2 bits of the third chunk as bits 4-5.
inline void rows16_q6k_levels(const uint8_t* t, __m512i (&lv)[4]) {
    const __m512i m4 = _mm512_set1_epi8(0x0F), m30 = _mm512_set1_epi8(0x30);
    const __m512i A = _mm512_loadu_si512(t), B = _mm512_loadu_si512(t + 64), q = _mm512_loadu_si512(t + 128);
    // 0xE4: bits of the first operand where m4 is set, of the second elsewhere.
    lv[0] = _mm512_ternarylogic_epi32(A, _mm512_and_si512(_mm512_slli_epi16(q, 4), m30), m4, 0xE4);
    lv[1] = _mm512_ternarylogic_epi32(B, _mm512_and_si512(_mm512_slli_epi16(q, 2), m30), m4, 0xE4);
    lv[2] = _mm512_ternarylogic_epi32(_mm512_srli_epi16(A, 4), _mm512_and_si512(q, m30), m4, 0xE4);
    lv[3] = _mm512_ternarylogic_epi32(_mm512_srli_epi16(B, 4), _mm512_and_si512(_mm512_srli_epi16(q, 2), m30),
                                      m4, 0xE4);
}

// Q5_K: the fifth bits of sub-block j for lane o (qh chunk o: bit j of each byte) moved to bit 4. A
// 16-bit shift carries no other byte's bit into bit 4 for these shift counts.
template <int J>
inline __m512i rows16_q5k_bit(__m512i q) {
    const __m512i m10 = _mm512_set1_epi8(0x10);
    if constexpr (J < 4)
        return _mm512_and_si512(_mm512_slli_epi16(q, 4 - J), m10);
    else if constexpr (J == 4)
        return _mm512_and_si512(q, m10);
    else
        return _mm512_and_si512(_mm512_srli_epi16(q, J - 4), m10);
}

// Q4_K (Q5 false) or Q5_K: the levels of sub-blocks 2 jp (lo) and 2 jp + 1 (hi), lane o.
template <bool Q5, int JP>
inline void rows16_k4_levels(const uint8_t* g, int o, __m512i& lo, __m512i& hi) {
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    const __m512i w = _mm512_loadu_si512(g + (Q5 ? kRows16Q5Qs : kRows16Qs) + 64 * (8 * JP + o));
    lo = _mm512_and_si512(w, m4);
    hi = _mm512_and_si512(_mm512_srli_epi16(w, 4), m4);
    if constexpr (Q5) {
        const __m512i q = _mm512_loadu_si512(g + kRows16Q5Qh + 64 * o);
        lo = _mm512_or_si512(lo, rows16_q5k_bit<2 * JP>(q));
        hi = _mm512_or_si512(hi, rows16_q5k_bit<2 * JP + 1>(q));
    }
}

// The integer totals of a Q4_K or Q5_K super-block for 16 rows against T tokens (at[t]: the token's
// block): per pair of sub-blocks 2j, 2j + 1, the 8 chunks' vpdpbusd into one running sum each, then
// each sum times its sub-block's scale.
template <int T, bool Q5>
inline void rows16_k4_totals(const uint8_t* g, const __m512i (&sc)[8], const BlockQ8_K* const (&at)[T],
                             __m512i (&tot)[T]) {
    for (auto& v : tot) v = _mm512_setzero_si512();
    rows16_unroll<4>([&](auto jp) {
        constexpr int j = decltype(jp)::value;
        __m512i slo[T], shi[T];
        for (int t = 0; t < T; ++t) slo[t] = shi[t] = _mm512_setzero_si512();
#pragma GCC unroll 8
        for (int o = 0; o < 8; ++o) {
            __m512i lo, hi;
            rows16_k4_levels<Q5, j>(g, o, lo, hi);
#pragma GCC unroll 8
            for (int t = 0; t < T; ++t) {
                const int32_t* a4 = reinterpret_cast<const int32_t*>(at[t]->qs);
                slo[t] = _mm512_dpbusd_epi32(slo[t], lo, _mm512_set1_epi32(a4[16 * j + o]));
                shi[t] = _mm512_dpbusd_epi32(shi[t], hi, _mm512_set1_epi32(a4[16 * j + 8 + o]));
            }
        }
        for (int t = 0; t < T; ++t)
            tot[t] = _mm512_add_epi32(tot[t], _mm512_add_epi32(_mm512_mullo_epi32(slo[t], sc[2 * j]),
                                                               _mm512_mullo_epi32(shi[t], sc[2 * j + 1])));
    });
}

// One Q4_K or Q5_K group (16 rows) against one token: y[0..16). Q4_K's min term keeps 4 partial sums,
// Q5_K's one (as the reference).
template <bool Q5>
inline void rows16_k4_group(const uint8_t* g, int64_t nb, const BlockQ8_K* a, float* y) {
    constexpr size_t kBlock = Q5 ? kRows16Q5Block : kRows16Block;
    __m512 acc = _mm512_setzero_ps(), mins[4];
    for (auto& v : mins) v = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; ++b, g += kBlock) {
        gemv_prefetch(g + kDecodePrefetch, kBlock);  // the weights stream from memory, as in any GEMV
        __m512i sc[8], mn[8];
        rows16_scales(g + kRows16Scales, sc, mn);
        const BlockQ8_K* const at[1] = {a + b};
        __m512i tot[1];
        rows16_k4_totals<1, Q5>(g, sc, at, tot);
        const __m512 ya = _mm512_set1_ps(a[b].d);
        const __m512 d = _mm512_mul_ps(
            ya, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(g + kRows16D))));
        const __m512 dmin = _mm512_mul_ps(
            _mm512_set1_ps(-a[b].d),
            _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(g + kRows16Dmin))));
        acc = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(tot[0]), acc);
        __m512i mn2[4];
        rows16_pack_mins(mn, mn2);
        rows16_add_mins<Q5>(mn2, a[b].bsums, dmin, mins);
    }
    _mm512_storeu_ps(y, _mm512_add_ps(acc, Q5 ? mins[0] : rows16_mins_sum(mins)));
}

// The integer totals of a Q6_K super-block for 16 rows against T tokens (at[t]: the token's block). The
// levels enter unsigned (0..63); each 16 elements' running sum starts at -32 times their activations'
// sum (the block's bsums), so it ends as the reference's sum of (level - 32) * activation, and is then
// multiplied by its scale. Elements 16 (2 group + s) .. + 15 of a group of 32 are lanes o = 4 s .. 4 s + 3
// of the group's 4-element chunks (rows16_q6k_levels); each group pair k2 (groups 4 h + 2 k2, + 1)
// keeps 2 running sums per token.
template <int T>
inline void rows16_q6k_totals(const uint8_t* g, const BlockQ8_K* const (&at)[T], __m512i (&tot)[T]) {
    for (auto& v : tot) v = _mm512_setzero_si512();
#pragma GCC unroll 2
    for (int h = 0; h < 2; ++h)  // elements 128 h .. 128 h + 127: groups 4h .. 4h + 3
#pragma GCC unroll 2
        for (int s = 0; s < 2; ++s)  // the first or the second 16 of each group
#pragma GCC unroll 2
            for (int k2 = 0; k2 < 2; ++k2) {
                __m512i sum[T][2];
                for (int t = 0; t < T; ++t)
                    for (int kk = 0; kk < 2; ++kk)
                        sum[t][kk] = _mm512_set1_epi32(-32 * at[t]->bsums[2 * (4 * h + 2 * k2 + kk) + s]);
#pragma GCC unroll 4
                for (int o = 4 * s; o < 4 * s + 4; ++o) {
                    __m512i lv[4];
                    rows16_q6k_levels(g + kRows16Q6Triple * (8 * h + o), lv);
#pragma GCC unroll 8
                    for (int t = 0; t < T; ++t) {
                        const int32_t* a4 = reinterpret_cast<const int32_t*>(at[t]->qs);
                        for (int kk = 0; kk < 2; ++kk) {
                            const int k = 2 * k2 + kk, c = 8 * (4 * h + k) + o;  // chunk of the super-block
                            sum[t][kk] = _mm512_dpbusd_epi32(sum[t][kk], lv[k], _mm512_set1_epi32(a4[c]));
                        }
                    }
                }
                for (int kk = 0; kk < 2; ++kk) {
                    const __m512i sc = rows16_q6k_scale(g, 2 * (4 * h + 2 * k2 + kk) + s);
                    for (int t = 0; t < T; ++t)
                        tot[t] = _mm512_add_epi32(tot[t], _mm512_mullo_epi32(sum[t][kk], sc));
                }
            }
}

// One Q6_K group (16 rows) against one token: y[0..16).
inline void rows16_q6k_group(const uint8_t* g, int64_t nb, const BlockQ8_K* a, float* y) {
    __m512 acc = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; ++b, g += kRows16Q6Block) {
        gemv_prefetch(g + kDecodePrefetch, kRows16Q6Block);
        const BlockQ8_K* const at[1] = {a + b};
        __m512i tot[1];
        rows16_q6k_totals<1>(g, at, tot);
        const __m512 d = _mm512_mul_ps(
            _mm512_set1_ps(a[b].d),
            _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(g + kRows16Q6D))));
        acc = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(tot[0]), acc);
    }
    _mm512_storeu_ps(y, acc);
}

// Rows [r0, r1) (whole groups) of a Q4_K (Q5 false) or Q5_K kRows16 matrix against one token (decode).
template <bool Q5>
inline void gemm_rows16_k4(const MatRef& m, int64_t r0, int64_t r1, const void* a, float* y) {
    const int64_t nb = m.cols / QK_K;
    const BlockQ8_K* at = static_cast<const BlockQ8_K*>(a);
    for (int64_t g = r0 / kRows16; g < (r1 + kRows16 - 1) / kRows16; ++g)
        rows16_k4_group<Q5>(m.row(g * kRows16), nb, at, y + g * kRows16);
}

// The several-token kernels' float step: each token's integer totals of a super-block join its float
// sum in memory, fma(d_w * d_a, total, acc).
template <int T>
inline void rows16_join(const BlockQ8_K* const (&at)[T], __m512 dw, const __m512i (&tot)[T],
                        float (&acc)[T][16]) {
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) {
        const __m512 d = _mm512_mul_ps(_mm512_set1_ps(at[t]->d), dw);
        _mm512_store_ps(acc[t], _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(tot[t]), _mm512_load_ps(acc[t])));
    }
}

inline __m512 rows16_lanes_sum(const float (&acc)[8][16]) {
    __m512 v[8];
    for (int o = 0; o < 8; ++o) v[o] = _mm512_load_ps(acc[o]);
    return rows16_lanes_sum(v);
}

// How far ahead the several-token Q4_K / Q5_K / Q6_K kernels prefetch: 8 KiB, half of kDecodePrefetch.
// Measured on Zen 4 (1B Q4_K_M, `kinglet bench -b 4`, interleaved pairs): 8 KiB ran 7% faster than
// 16 KiB (4 of 5 pairs; again 5%, 4 of 6) and 5% faster than 4 KiB (5 of 5); at `-b 8` 2% (4 of 5);
// 128-token prefill 1% (6 of 7). These kernels spend about twice as long on a line as the grouped Q8_0
// ones, which were level at 8 KiB (2 of 5) and keep 16.
constexpr size_t kRows16KPrefetch = 8192;

// Several tokens (batched decode, prompts): each 64-byte load of a group meets T tokens, with the
// one-token kernels' sums in the same order (rows16_k4_totals, rows16_q6k_totals); the float sums (one
// per token, and Q4_K's 4 min sums) live in memory.
template <int T, bool Q5>
inline void rows16_k4_tokens(const uint8_t* g, int64_t nb, const uint8_t* a, size_t a_stride, float* y,
                             int64_t ldy) {
    constexpr size_t kBlock = Q5 ? kRows16Q5Block : kRows16Block;
    alignas(64) float acc[T][16] = {}, mins[T][4][16] = {};
    for (int64_t b = 0; b < nb; ++b, g += kBlock) {
        prefetch(g + kRows16KPrefetch, kBlock);
        __m512i sc[8], mn[8];
        rows16_scales(g + kRows16Scales, sc, mn);
        const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(g + kRows16D)));
        const __m512 mw =
            _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(g + kRows16Dmin)));
        const BlockQ8_K* at[T];
        for (int t = 0; t < T; ++t) at[t] = reinterpret_cast<const BlockQ8_K*>(a + t * a_stride) + b;
        __m512i mn2[4];
        rows16_pack_mins(mn, mn2);
        for (int t = 0; t < T; ++t) {
            __m512 m[4];
            for (int k = 0; k < 4; ++k) m[k] = _mm512_load_ps(mins[t][k]);
            rows16_add_mins<Q5>(mn2, at[t]->bsums, _mm512_mul_ps(_mm512_set1_ps(-at[t]->d), mw), m);
            for (int k = 0; k < 4; ++k) _mm512_store_ps(mins[t][k], m[k]);
        }
        __m512i tot[T];
        rows16_k4_totals<T, Q5>(g, sc, at, tot);
        rows16_join<T>(at, dw, tot, acc);
    }
    for (int t = 0; t < T; ++t) {
        __m512 m[4];
        for (int k = 0; k < 4; ++k) m[k] = _mm512_load_ps(mins[t][k]);
        const __m512 mm = Q5 ? m[0] : rows16_mins_sum(m);
        _mm512_storeu_ps(y + t * ldy, _mm512_add_ps(_mm512_load_ps(acc[t]), mm));
    }
}

// The Q6_K form of rows16_k4_tokens.
template <int T>
inline void rows16_q6k_tokens(const uint8_t* g, int64_t nb, const uint8_t* a, size_t a_stride, float* y,
                              int64_t ldy) {
    alignas(64) float acc[T][16] = {};
    for (int64_t b = 0; b < nb; ++b, g += kRows16Q6Block) {
        prefetch(g + kRows16KPrefetch, kRows16Q6Block);
        const __m512 dw =
            _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(g + kRows16Q6D)));
        const BlockQ8_K* at[T];
        for (int t = 0; t < T; ++t) at[t] = reinterpret_cast<const BlockQ8_K*>(a + t * a_stride) + b;
        __m512i tot[T];
        rows16_q6k_totals<T>(g, at, tot);
        rows16_join<T>(at, dw, tot, acc);
    }
    for (int t = 0; t < T; ++t) _mm512_storeu_ps(y + t * ldy, _mm512_load_ps(acc[t]));
}

// Rows [r0, r1) (whole groups) of a Q6_K kRows16 matrix against one token (decode).
inline void gemm_rows16_q6k(const MatRef& m, int64_t r0, int64_t r1, const void* a, float* y) {
    const int64_t nb = m.cols / QK_K;
    for (int64_t g = r0 / kRows16; g < (r1 + kRows16 - 1) / kRows16; ++g)
        rows16_q6k_group(m.row(g * kRows16), nb, static_cast<const BlockQ8_K*>(a), y + g * kRows16);
}

// The unsigned levels of chunk k (0..7) of a group's block: elements 4k .. 4k + 3 of each row. Q8_0: its
// stored bytes; the others: a nibble of qs and, for Q5_0/Q5_1, as bit 4, its fifth bit from qh.
template <class G>
inline __m512i rows16_q32_chunk(const uint8_t* gb, int k) {
    if constexpr (G::kBias == 128) return _mm512_loadu_si512(gb + G::kQs + 64 * k);
    const __m512i q = _mm512_loadu_si512(gb + G::kQs + 64 * (k & 3));
    const __m512i low = _mm512_set1_epi8(0x0F);
    const __m512i nib = k < 4 ? _mm512_and_si512(q, low) : _mm512_and_si512(_mm512_srli_epi16(q, 4), low);
    if constexpr (G::kQh == 0) return nib;
    // Bits 4k .. 4k + 3 of a row's qh are the fifth bits of its 4 elements: as a dword index (vpermd reads
    // the low 4 bits) they pick the 4 bytes with bit 4 set where the bit is.
    const __m512i spread = _mm512_set_epi32(0x10101010, 0x10101000, 0x10100010, 0x10100000, 0x10001010,
                                            0x10001000, 0x10000010, 0x10000000, 0x00101010, 0x00101000,
                                            0x00100010, 0x00100000, 0x00001010, 0x00001000, 0x00000010, 0);
    const __m512i qh = _mm512_loadu_si512(gb + G::kQh);
    return _mm512_or_si512(nib, _mm512_permutexvar_epi32(_mm512_srli_epi32(qh, unsigned(4 * k)), spread));
}

// One group (16 rows) of a type G (Rows16Q32Layout) against T tokens (1 to 8): y[t * ldy + 0..16). Each
// token's integer sum of a block is split into P partial sums (added as integers) so that one token's chain
// of vpdpbusd is short enough to overlap the next block's. The 8 float accumulators of a token (one per block
// lane) are registers for 1 or 2 tokens and memory (L1) for more. Several tokens prefetch the weights 16 KiB
// ahead as the GEMV does (8 tokens of a 2048 x 2048 matrix: 370 against 769 us without, kernels_bench); one
// token does not: a group is one contiguous stream, which the hardware prefetchers follow, and the
// prefetch made decode of the 135M Q8_0 model 8% slower (14.6 against 13.5 CPU ms per token, medians of
// 3, `kinglet bench -b 1`).
template <class G, int T>
inline void rows16_q32_tokens(const uint8_t* g, int64_t nb, const typename G::Act* const (&at)[T],
                              const Rows16Q32Act* const (&ac)[T], float* y, int64_t ldy) {
    constexpr int P = T == 1 ? 4 : T == 2 ? 2 : 1;
    constexpr bool kRegs = T <= 2;
    __m512 summs[G::kOffset ? T : 1];
    for (auto& v : summs) v = _mm512_setzero_ps();
    __m512 racc[kRegs ? T : 1][8];
    alignas(64) float macc[kRegs ? 1 : T][8][16];
    if constexpr (kRegs) {
        for (auto& a : racc)
            for (auto& v : a) v = _mm512_setzero_ps();
    } else {
        for (auto& a : macc)
            for (auto& v : a) _mm512_store_ps(v, _mm512_setzero_ps());
    }
    for (int64_t b0 = 0; b0 < nb; b0 += 8) {
        rows16_unroll<8>([&](auto lane) {  // block b0 + i joins accumulator i (a constant)
            constexpr int i = decltype(lane)::value;
            const int64_t b = b0 + i;
            if (b >= nb) return;
            const uint8_t* gb = g + b * int64_t(G::kBlock);
            if constexpr (T > 1) prefetch(gb + kDecodePrefetch, G::kBlock);
            __m512i s[T][P];
            for (int t = 0; t < T; ++t) {
                s[t][0] = _mm512_set1_epi32(ac[t][b].neg);
                for (int p = 1; p < P; ++p) s[t][p] = _mm512_setzero_si512();
            }
#pragma GCC unroll 8
            for (int k = 0; k < 8; ++k) {
                const __m512i w = rows16_q32_chunk<G>(gb, k);
                for (int t = 0; t < T; ++t)
                    s[t][k % P] = _mm512_dpbusd_epi32(s[t][k % P], w,
                                                      _mm512_set1_epi32(int(load_u32(at[t][b].qs + 4 * k))));
            }
            const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(gb)));
            if constexpr (G::kOffset) {
                const __m512 mw =
                    _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(gb + G::kM)));
                for (int t = 0; t < T; ++t)
                    summs[t] = _mm512_fmadd_ps(mw, _mm512_set1_ps(ac[t][b].s), summs[t]);
            }
            for (int t = 0; t < T; ++t) {
                __m512i sum = s[t][0];
                if constexpr (P == 4)
                    sum =
                        _mm512_add_epi32(_mm512_add_epi32(sum, s[t][1]), _mm512_add_epi32(s[t][2], s[t][3]));
                else if constexpr (P == 2)
                    sum = _mm512_add_epi32(sum, s[t][1]);
                const __m512 d = _mm512_mul_ps(dw, _mm512_set1_ps(ac[t][b].d));
                if constexpr (kRegs)
                    racc[t][i] = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(sum), racc[t][i]);
                else
                    _mm512_store_ps(macc[t][i],
                                    _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(sum), _mm512_load_ps(macc[t][i])));
            }
        });
    }
    for (int t = 0; t < T; ++t) {
        __m512 r;
        if constexpr (kRegs)
            r = rows16_lanes_sum(racc[t]);
        else
            r = rows16_lanes_sum(macc[t]);
        if constexpr (G::kOffset) r = _mm512_add_ps(r, summs[t]);
        _mm512_storeu_ps(y + t * ldy, r);
    }
}

// Rows [r0, r1) (whole groups) of a kRows16 matrix (a 32-block type or a K-quant) against n_tok tokens,
// each group against up to 8 tokens at a time (rows16_passes).
template <DType Type>
inline void gemm_rows16_tokens(const MatRef& m, int64_t r0, int64_t r1, const void* act, size_t a_stride,
                               int64_t n_tok, float* y, int64_t ldy) {
    const int64_t nb = m.cols / dtype_info(Type).block_size;
    const uint8_t* a = static_cast<const uint8_t*>(act);
    constexpr bool kQ32 = rows16_q32_type(Type);
    using G = Rows16Q32Of<Type>;
    thread_local std::vector<Rows16Q32Act> q8;
    if constexpr (kQ32) {
        q8.resize(size_t(n_tok * nb));
        rows16_q32_acts<G>(a, a_stride, n_tok, nb, q8.data());
    }
    rows16_passes<8>(r0, r1, n_tok, [&](int64_t g, int64_t t0, auto tokens) {
        constexpr int kT = decltype(tokens)::value;
        const uint8_t* at = a + t0 * a_stride;
        float* yt = y + t0 * ldy + g * kRows16;
        if constexpr (kQ32) {
            const typename G::Act* x[kT];
            const Rows16Q32Act* c[kT];
            for (int t = 0; t < kT; ++t) {
                x[t] = reinterpret_cast<const typename G::Act*>(at + t * a_stride);
                c[t] = q8.data() + (t0 + t) * nb;
            }
            rows16_q32_tokens<G, kT>(m.row(g * kRows16), nb, x, c, yt, ldy);
        } else if constexpr (Type == DType::Q4_K || Type == DType::Q5_K)
            rows16_k4_tokens<kT, Type == DType::Q5_K>(m.row(g * kRows16), nb, at, a_stride, yt, ldy);
        else
            rows16_q6k_tokens<kT>(m.row(g * kRows16), nb, at, a_stride, yt, ldy);
    });
}
#endif

#if !defined(__AVX512VNNI__)
// The AVX2 grouped kernels' float side: block b's integer sums of T tokens (two halves of 8 rows) join
// their accumulator lane b % 8 with the scales d_w (the group block's 16 F16s at gb) times d_a[t]; at the
// end each token's 8 lanes are summed in the reference's order.
template <int T>
inline void rows16_avx2_join(float (&acc)[T][8][16], const uint8_t* gb, int64_t b, const float (&da)[T],
                             const __m256i (&s)[T][2]) {
    const __m256 dw[2] = {_mm256_cvtph_ps(load128(gb)), _mm256_cvtph_ps(load128(gb + 16))};
    for (int t = 0; t < T; ++t) {
        const __m256 d = _mm256_set1_ps(da[t]);
        for (int h = 0; h < 2; ++h) {
            float* a = acc[t][b % 8] + 8 * h;
            _mm256_store_ps(
                a, _mm256_fmadd_ps(_mm256_mul_ps(dw[h], d), _mm256_cvtepi32_ps(s[t][h]), _mm256_load_ps(a)));
        }
    }
}
template <int T>
inline void rows16_avx2_store(const float (&acc)[T][8][16], float* y, int64_t ldy) {
    for (int t = 0; t < T; ++t)
        for (int h = 0; h < 2; ++h) {
            __m256 v[8];
            for (int l = 0; l < 8; ++l) v[l] = _mm256_load_ps(acc[t][l] + 8 * h);
            _mm256_storeu_ps(y + t * ldy + 8 * h, lanes_sum8(v));
        }
}

// Q8_0 groups with AVX2 (no vpdpbusd): a chunk is two 256-bit halves of 8 rows. The levels, stored + 128,
// are flipped back to signed and multiplied by the sign trick, |w| by sign(a, w), whose pairs fit in 16
// bits (activation levels are -127..127), so each (row, token) keeps one integer sum per block, which
// joins the token's accumulator lane b % 8 in memory as in rows16_q32_tokens, and prefetches as it does (one
// token without: 135M Q8_0 decode 126 tok/s without against 104 with, medians of 4). Up to 4 tokens: the
// sums of 4 tokens and the unpacked chunk fill the 16 registers.
template <int T>
inline void rows16_q8_tokens_avx2(const uint8_t* g, int64_t nb, const BlockQ8_0* const (&at)[T], float* y,
                                  int64_t ldy) {
    alignas(32) float acc[T][8][16] = {};  // [token][lane][row]
    const __m256i flip = _mm256_set1_epi8(char(0x80));
    for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* gb = g + b * int64_t(kRows16Q8Block);
        if constexpr (T > 1) prefetch(gb + kDecodePrefetch, kRows16Q8Block);  // as rows16_q32_tokens
        __m256i s[T][2];
        for (auto& v : s) v[0] = v[1] = _mm256_setzero_si256();
#pragma GCC unroll 8
        for (int k = 0; k < 8; ++k) {
            __m256i w[2], u[2];
            for (int h = 0; h < 2; ++h) {
                w[h] = _mm256_xor_si256(load256(gb + kRows16Q8Qs + 64 * k + 32 * h), flip);
                u[h] = _mm256_sign_epi8(w[h], w[h]);
            }
            for (int t = 0; t < T; ++t) {
                const __m256i a4 = _mm256_set1_epi32(int(load_u32(at[t][b].qs + 4 * k)));
                for (int h = 0; h < 2; ++h)
                    s[t][h] = _mm256_add_epi32(s[t][h], dot4(u[h], _mm256_sign_epi8(a4, w[h])));
            }
        }
        float da[T];
        for (int t = 0; t < T; ++t) da[t] = f16(at[t][b].d);
        rows16_avx2_join<T>(acc, gb, b, da, s);
    }
    rows16_avx2_store<T>(acc, y, ldy);
}

// Rows [r0, r1) (whole groups) of a Q8_0 kRows16 matrix against n_tok tokens with AVX2, each group
// against up to 4 tokens at a time (rows16_passes).
inline void gemm_rows16_q8_avx2(const MatRef& m, int64_t r0, int64_t r1, const void* act, size_t a_stride,
                                int64_t n_tok, float* y, int64_t ldy) {
    const int64_t nb = m.cols / 32;
    const uint8_t* a = static_cast<const uint8_t*>(act);
    rows16_passes<4>(r0, r1, n_tok, [&](int64_t g, int64_t t0, auto tokens) {
        constexpr int kT = decltype(tokens)::value;
        const BlockQ8_0* x[kT];
        for (int t = 0; t < kT; ++t) x[t] = reinterpret_cast<const BlockQ8_0*>(a + (t0 + t) * a_stride);
        rows16_q8_tokens_avx2<kT>(m.row(g * kRows16), nb, x, y + t0 * ldy + g * kRows16, ldy);
    });
}

// Q4_0, Q5_0, Q4_1 and Q5_1 groups with AVX2, as rows16_q8_tokens_avx2 with unsigned levels (0..15,
// 0..31), which need no sign trick: each chunk half is a nibble of qs with, for Q5_0/Q5_1, its fifth bit
// from qh (the dword's 4 bits spread to its 4 bytes by a byte shuffle, a bit test and a compare); each
// (row, token) sum starts at -bias times the activation block's sum (Rows16Q32Act), and Q4_1/Q5_1 keep
// their offset chain in memory beside the lanes.
template <class G, int T>
inline void rows16_nibbles_tokens_avx2(const uint8_t* g, int64_t nb, const typename G::Act* const (&at)[T],
                                       const Rows16Q32Act* const (&ac)[T], float* y, int64_t ldy) {
    alignas(32) float acc[T][8][16] = {};                  // [token][lane][row]
    alignas(32) float summs[G::kOffset ? T : 1][16] = {};  // [token][row]
    const __m256i low = _mm256_set1_epi8(0x0F), five = _mm256_set1_epi8(0x10);
    const __m256i bit = _mm256_set1_epi32(0x08040201);
    const __m256i rep = _mm256_setr_epi8(0, 0, 0, 0, 4, 4, 4, 4, 8, 8, 8, 8, 12, 12, 12, 12, 0, 0, 0, 0, 4, 4,
                                         4, 4, 8, 8, 8, 8, 12, 12, 12, 12);
    for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* gb = g + b * int64_t(G::kBlock);
        if constexpr (T > 1) prefetch(gb + kDecodePrefetch, G::kBlock);  // as rows16_q32_tokens
        __m256i s[T][2];
        for (int t = 0; t < T; ++t) s[t][0] = s[t][1] = _mm256_set1_epi32(ac[t][b].neg);
        __m256i qh[2] = {};
        if constexpr (G::kQh != 0) qh[0] = load256(gb + G::kQh), qh[1] = load256(gb + G::kQh + 32);
#pragma GCC unroll 8
        for (int k = 0; k < 8; ++k) {
            __m256i u[2];
            for (int h = 0; h < 2; ++h) {
                const __m256i q = load256(gb + G::kQs + 64 * (k & 3) + 32 * h);
                u[h] = k < 4 ? _mm256_and_si256(q, low) : _mm256_and_si256(_mm256_srli_epi16(q, 4), low);
                if constexpr (G::kQh != 0) {
                    const __m256i x =
                        _mm256_and_si256(_mm256_shuffle_epi8(_mm256_srli_epi32(qh[h], 4 * k), rep), bit);
                    u[h] = _mm256_or_si256(u[h], _mm256_and_si256(_mm256_cmpeq_epi8(x, bit), five));
                }
            }
            for (int t = 0; t < T; ++t) {
                const __m256i a4 = _mm256_set1_epi32(int(load_u32(at[t][b].qs + 4 * k)));
                for (int h = 0; h < 2; ++h) s[t][h] = _mm256_add_epi32(s[t][h], dot4(u[h], a4));
            }
        }
        float da[T];
        for (int t = 0; t < T; ++t) da[t] = ac[t][b].d;
        rows16_avx2_join<T>(acc, gb, b, da, s);
        if constexpr (G::kOffset) {
            const __m256 mw[2] = {_mm256_cvtph_ps(load128(gb + G::kM)),
                                  _mm256_cvtph_ps(load128(gb + G::kM + 16))};
            for (int t = 0; t < T; ++t)
                for (int h = 0; h < 2; ++h)
                    _mm256_store_ps(summs[t] + 8 * h, _mm256_fmadd_ps(mw[h], _mm256_set1_ps(ac[t][b].s),
                                                                      _mm256_load_ps(summs[t] + 8 * h)));
        }
    }
    rows16_avx2_store<T>(acc, y, ldy);
    if constexpr (G::kOffset)
        for (int t = 0; t < T; ++t)
            for (int h = 0; h < 2; ++h)
                _mm256_storeu_ps(y + t * ldy + 8 * h, _mm256_add_ps(_mm256_loadu_ps(y + t * ldy + 8 * h),
                                                                    _mm256_load_ps(summs[t] + 8 * h)));
}

template <class G>
inline void gemm_rows16_nibbles_avx2(const MatRef& m, int64_t r0, int64_t r1, const void* act,
                                     size_t a_stride, int64_t n_tok, float* y, int64_t ldy) {
    const int64_t nb = m.cols / 32;
    const uint8_t* a = static_cast<const uint8_t*>(act);
    thread_local std::vector<Rows16Q32Act> acts;
    acts.resize(size_t(n_tok * nb));
    rows16_q32_acts<G>(a, a_stride, n_tok, nb, acts.data());
    rows16_passes<4>(r0, r1, n_tok, [&](int64_t g, int64_t t0, auto tokens) {
        constexpr int kT = decltype(tokens)::value;
        const typename G::Act* x[kT];
        const Rows16Q32Act* c[kT];
        for (int t = 0; t < kT; ++t) {
            x[t] = reinterpret_cast<const typename G::Act*>(a + (t0 + t) * a_stride);
            c[t] = acts.data() + (t0 + t) * nb;
        }
        rows16_nibbles_tokens_avx2<G, kT>(m.row(g * kRows16), nb, x, c, y + t0 * ldy + g * kRows16, ldy);
    });
}
#endif

// A family without the grouped kernels (AVX2; only the tests hand it a grouped matrix): rows [r0, r1)
// taken out of their groups into a plain buffer once per call and computed by `plain`, the plain
// layout's kernel.
template <class Plain>
inline void gemm_rows16_unpacked(const MatRef& m, int64_t r0, int64_t r1, const void* a, size_t a_stride,
                                 int64_t n_tok, float* y, int64_t ldy, Plain plain) {
    thread_local std::vector<uint8_t> buf;
    buf.resize(size_t(r1 - r0) * m.row_bytes);
    for (int64_t r = r0; r < r1; ++r) rows16_row(m, r, buf.data() + (r - r0) * m.row_bytes);
    MatRef p = m;
    p.data = buf.data();
    p.rows = r1 - r0;
    p.layout = Layout::kPlain;
    plain(p, 0, r1 - r0, a, a_stride, n_tok, y + r0, ldy);
}

// Rows [r0, r1) of a kRows16 matrix (a 32-block type or a K-quant) against n_tok tokens: the grouped kernels
// (the 32-block types: one kernel for any number of tokens; the K-quants: one-token kernels for decode), or
// with a family without them, the rows taken out of their groups for `plain`.
template <DType Type, class Plain>
inline void gemm_rows16(const MatRef& m, int64_t r0, int64_t r1, const void* a, size_t a_stride,
                        int64_t n_tok, float* y, int64_t ldy, Plain plain) {
#if defined(__AVX512VNNI__)
    if constexpr (rows16_q32_type(Type)) {
        return gemm_rows16_tokens<Type>(m, r0, r1, a, a_stride, n_tok, y, ldy);
    } else {
        if (n_tok > 1) return gemm_rows16_tokens<Type>(m, r0, r1, a, a_stride, n_tok, y, ldy);
        if constexpr (Type == DType::Q6_K)
            return gemm_rows16_q6k(m, r0, r1, a, y);
        else
            return gemm_rows16_k4<Type == DType::Q5_K>(m, r0, r1, a, y);
    }
#else
    if constexpr (Type == DType::Q8_0) return gemm_rows16_q8_avx2(m, r0, r1, a, a_stride, n_tok, y, ldy);
    else if constexpr (rows16_q32_type(Type))
        return gemm_rows16_nibbles_avx2<Rows16Q32Of<Type>>(m, r0, r1, a, a_stride, n_tok, y, ldy);
#endif
    gemm_rows16_unpacked(m, r0, r1, a, a_stride, n_tok, y, ldy, plain);
}

}  // namespace kinglet::kernels::KINGLET_ISA
