// Q6_K against Q8_K activations with AVX-512 (BW, VNNI). The 256 elements of a super-block are taken 64
// at a time, two 32-element groups per 512-bit register: the low 256 bits hold group 2p, the high group
// 2p + 1, so one load of 64 consecutive activation bytes meets them. The levels minus 32 enter as their
// absolute values with the sign moved onto the activations (a masked negation; AVX-512 has no vpsignb);
// per 64 elements and token vpmaddubsw makes the int16 sums of element pairs and vpdpwssd multiplies them
// by the scales (one per 16 elements) into 16 int32 lanes; at the end of the super-block lane l + 8 is
// added to lane l and the 8 lanes into the super-block's total. Integer sums are exact, so the total is
// the reference's (tensor/dot.cpp) and the float part (one fma per super-block, SbSums) is TileQ6K's:
// results are bit-identical.
// Q4_K stays on gemm_k.h's tiles (with vpdpwssd in the prefill one): the same 512-bit scheme measured no
// faster there on Zen 4, which runs a 512-bit shift or shuffle as two 256-bit halves on the same pipes,
// and its decode was no faster with 256-bit vpdpwssd and load-only scale broadcasts either.
#pragma once
#if defined(__AVX512F__)
#include "tensor/kernels/x86/gemm_k_prefill.h"

namespace kinglet::kernels::KINGLET_ISA {

// Moves between 256 and 512 bits. (GCC 12 reports the 512-bit casts, inserts and broadcasts as reads of
// uninitialized values; CMake turns that warning off for the AVX-512 kernel files.)
inline __m256i lo256(__m512i v) { return _mm512_castsi512_si256(v); }
inline __m256i hi256(__m512i v) { return _mm512_extracti64x4_epi64(v, 1); }
inline __m512i zext512(__m256i v) { return _mm512_zextsi256_si512(v); }
inline __m512i concat512(__m256i lo, __m256i hi) { return _mm512_inserti64x4(zext512(lo), hi, 1); }
inline __m512i bcast256(__m256i v) { return _mm512_broadcast_i64x4(v); }

// 16 int16 words a (low 256 bits) and b (high 256 bits).
inline __m512i words_2x256(short a, short b) {
    return concat512(_mm256_set1_epi16(a), _mm256_set1_epi16(b));
}

// The 8 lanes of a super-block: lane l plus lane l + 8.
inline __m256i fold_lanes(__m512i v) {
    return _mm256_add_epi32(lo256(v), hi256(v));
}

inline void chain512(__m512i& v) { __asm__("" : "+v"(v)); }

// Q6_K: the 64 levels (0..63, not yet minus 32) of pair p (groups 2 p, 2 p + 1) of a super-block.
inline __m512i q6_pair_levels(const BlockQ6_K& x, int p) {
    const int h = p / 2;
    const __m512i l = _mm512_loadu_si512(x.ql + 64 * h);  // groups 4h, 4h+1: low nibbles; 4h+2, 4h+3: high
    const __m512i q = bcast256(load256(x.qh + 32 * h));
    __m512i low, high;
    if (p % 2 == 0) {
        low = _mm512_and_si512(l, _mm512_set1_epi8(0x0F));
        high = _mm512_sllv_epi16(q, words_2x256(4, 2));  // bits 0-1 (group 4h), 2-3 (4h+1) to bits 4-5
    } else {
        low = _mm512_and_si512(_mm512_srli_epi16(l, 4), _mm512_set1_epi8(0x0F));
        high = _mm512_srlv_epi16(q, words_2x256(0, 2));  // bits 4-5 (group 4h+2), 6-7 (4h+3) to bits 4-5
    }
    return _mm512_ternarylogic_epi32(low, high, _mm512_set1_epi8(0x30), 0xF8);  // low | (high & 0x30)
}

// Q6_K: the int16 scales of pair p: 128-bit lane c (elements 16 c .. 16 c + 15 of the 64) takes scale 4p + c.
inline __m512i q6_pair_scales(__m512i sc16, int p) {
    const __m512i idx = _mm512_set_epi32(
        0x00010001 * (4 * p + 3), 0x00010001 * (4 * p + 3), 0x00010001 * (4 * p + 3), 0x00010001 * (4 * p + 3),
        0x00010001 * (4 * p + 2), 0x00010001 * (4 * p + 2), 0x00010001 * (4 * p + 2), 0x00010001 * (4 * p + 2),
        0x00010001 * (4 * p + 1), 0x00010001 * (4 * p + 1), 0x00010001 * (4 * p + 1), 0x00010001 * (4 * p + 1),
        0x00010001 * (4 * p), 0x00010001 * (4 * p), 0x00010001 * (4 * p), 0x00010001 * (4 * p));
    return _mm512_permutexvar_epi16(idx, sc16);
}

// Pair p of a Q6_K super-block ready to multiply: |level - 32|, the lanes whose level - 32 is negative
// (their activations are negated: signed()), and the pair's int16 scales.
struct Q6Pair {
    __m512i us, scale;
    __mmask64 neg;
    Q6Pair(const BlockQ6_K& x, __m512i sc16, int p) {
        const __m512i s = _mm512_sub_epi8(q6_pair_levels(x, p), _mm512_set1_epi8(32));
        us = _mm512_abs_epi8(s);
        neg = _mm512_movepi8_mask(s);
        scale = q6_pair_scales(sc16, p);
    }
    // The int16 sums of element pairs of |level - 32| times the activations av with the levels' signs.
    __m512i products(__m512i av) const {
        return _mm512_maddubs_epi16(us, _mm512_mask_sub_epi8(av, neg, _mm512_setzero_si512(), av));
    }
};

// Decode and small batches of Q6_K: levels minus 32 as |level| and the sign moved onto the activations.
template <int Rows, int Cols, int DecodeRows>
struct TileQ6K512 {
    static constexpr int kRows = Rows, kCols = Cols, kDecodeRows = DecodeRows;
    static constexpr int kBlock = QK_K, kScales = 0;
    static constexpr bool kCorr = false;
    static void scales(const uint8_t*, int64_t, float*, float*, __m256i*) {}

    template <int R, int C, int CMAX>
    static void run(const uint8_t* w, size_t w_stride, int64_t cols, const TokenTile<CMAX>& tt, float* y,
                    int64_t ldy) {
        const uint8_t* const* a = tt.a;
        const int64_t nb = cols / QK_K;
        SbSums<R, C> acc;
        for (int64_t b = 0; b < nb; ++b) {
            const BlockQ8_K* yb[C];
            for (int t = 0; t < C; ++t) yb[t] = reinterpret_cast<const BlockQ8_K*>(a[t]) + b;
            acc.tokens(yb);
            for (int i = 0; i < R; ++i) {
                const auto& x = *reinterpret_cast<const BlockQ6_K*>(w + i * w_stride + b * sizeof(BlockQ6_K));
                stream_prefetch<C>(tt.stream, reinterpret_cast<const uint8_t*>(&x) + kDecodePrefetch,
                                   sizeof(BlockQ6_K));
                const __m512i sc16 = zext512(_mm256_cvtepi8_epi16(load128(x.scales)));
                __m512i sumi[C];
                for (int t = 0; t < C; ++t) sumi[t] = _mm512_setzero_si512();
#pragma GCC unroll 4
                for (int p = 0; p < 4; ++p) {
                    const Q6Pair q6(x, sc16, p);
                    for (int t = 0; t < C; ++t)
                        sumi[t] = _mm512_dpwssd_epi32(sumi[t], q6.products(_mm512_loadu_si512(yb[t]->qs + 64 * p)),
                                                      q6.scale);
                }
                __m256i lanes[C];
                for (int t = 0; t < C; ++t) lanes[t] = fold_lanes(sumi[t]);
                acc.add(i, f16(x.d), lanes);
            }
        }
        for (int i = 0; i < R; ++i) {
            float sums[8];
            acc.get(i, sums);
            for (int t = 0; t < C; ++t) y[t * ldy + i] = sums[t];
        }
    }
};

// Prefill of Q6_K: one row against the first C tokens of a packed tile (as PrefillQ6K). Q4_K's prefill
// stays on PrefillK4: on Zen 4 its 512-bit form was ~10% slower (a 512-bit multiply takes the two 256-bit
// halves of the same pipes, so vpdpwssd saves no multiply slots there, and the fold costs extra).
struct PrefillQ6K512 {
    static constexpr size_t kBytes = sizeof(BlockQ6_K);

    template <int C>
    static void run(const uint8_t* w, int64_t nb, const PackedQ8K* p, float* y, int64_t ldy) {
        __m256 acc = _mm256_setzero_ps();  // lane t: token t
        for (int64_t b = 0; b < nb; ++b) {
            const auto& x = *reinterpret_cast<const BlockQ6_K*>(w + b * kBytes);
            const PackedQ8K& q = p[b];
            const __m512i sc16 = zext512(_mm256_cvtepi8_epi16(load128(x.scales)));
            __m512i sumi[C];
#pragma GCC unroll 4
            for (int pp = 0; pp < 4; ++pp) {
                const Q6Pair q6(x, sc16, pp);
#pragma GCC unroll 8
                for (int t = 0; t < C; ++t) {
                    const __m512i pr = q6.products(_mm512_load_si512(q.qs[pp][t]));
                    sumi[t] = pp == 0 ? _mm512_madd_epi16(pr, q6.scale) : _mm512_dpwssd_epi32(sumi[t], pr, q6.scale);
                    chain512(sumi[t]);
                }
            }
            __m256i lanes[C];
            for (int t = 0; t < C; ++t) lanes[t] = fold_lanes(sumi[t]);
            acc = add_totals<C>(acc, q.d, f16(x.d), lanes);
        }
        alignas(32) float out[8];
        _mm256_store_ps(out, acc);
        for (int t = 0; t < C; ++t) y[t * ldy] = out[t];
    }
};

}  // namespace kinglet::kernels::KINGLET_ISA
#endif
