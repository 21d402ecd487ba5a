// Q4_K, Q5_K, Q6_K against Q8_K activations: super-blocks of 256. Per super-block and (row, token)
// pair, the sub-block scales multiply integer lane sums (8 lanes of 4 consecutive elements, summed over
// the 8 groups of 32), the lanes are added into the super-block's integer total (exact) and the total
// joins one float sum, fma(d, total, acc); Q4_K's min term runs in 4 partial sums, Q5_K's in one — the
// scalar reference's order (tensor/dot.cpp), so results are bit-exact.
#pragma once
#include "tensor/kernels/x86/tiling.h"
#include "tensor/mat_ref.h"

namespace kinglet::kernels::KINGLET_ISA {

// The 8 6-bit scales (bytes 0..7) and mins (bytes 8..15) of a Q4_K/Q5_K super-block. Sub-blocks 0-3
// keep them in the low 6 bits of bytes 0-3 (scales) and 4-7 (mins); sub-blocks 4-7 take a nibble from
// bytes 8-11 and their top two bits from the spare high bits of bytes 0-3 (scales) and 4-7 (mins).
inline __m128i k4_scales_mins(const uint8_t* q) {
    // 32-bit lanes u0 = bytes 0-3, u1 = 4-7, u2 = 8-11 of q (the 4 bytes read past them are the block's
    // levels and are masked out): lanes (u0 & m6, u2 & lo4, u1 & m6, (u2 >> 4) & lo4) or'ed with
    // (0, top two bits of u0 per byte, 0, those of u1) moved to bits 4-5.
    const __m128i v = load128(q);
    const __m128i a = _mm_srlv_epi32(_mm_shuffle_epi32(v, _MM_SHUFFLE(2, 1, 2, 0)), _mm_set_epi32(4, 0, 0, 0));
    const __m128i lo = _mm_and_si128(a, _mm_set_epi32(0x0f0f0f0f, 0x3f3f3f3f, 0x0f0f0f0f, 0x3f3f3f3f));
    const __m128i hi = _mm_and_si128(_mm_srli_epi32(_mm_shuffle_epi32(v, _MM_SHUFFLE(1, 1, 0, 0)), 2),
                                     _mm_set_epi32(0x30303030, 0, 0x30303030, 0));
    return _mm_or_si128(lo, hi);
}

// Shuffle masks that spread int16 word k of each 128-bit half over that whole half.
inline __m256i word_mask(int lo, int hi) {
    const short l = short((2 * lo) | ((2 * lo + 1) << 8)), h = short((2 * hi) | ((2 * hi + 1) << 8));
    return _mm256_set_epi16(h, h, h, h, h, h, h, h, l, l, l, l, l, l, l, l);
}

// Lane t of acc += (da[t] * dw) * (the total of sumi[t]'s 8 int32 lanes), for C (1..8) tokens; da is
// 32-byte aligned.
template <int C>
inline __m256 add_totals(__m256 acc, const float* da, float dw, const __m256i* sumi) {
    __m256i w[8];
    for (int t = 0; t < 8; ++t) w[t] = t < C ? sumi[t] : _mm256_setzero_si256();
    return _mm256_fmadd_ps(_mm256_mul_ps(_mm256_load_ps(da), _mm256_set1_ps(dw)),
                           _mm256_cvtepi32_ps(hsum8_epi32(w)), acc);
}

// The float side of the K-quant tiles: one float sum per (row, token), which each super-block's integer
// total (the sum of the 8 int32 lanes of sumi[t]) joins as fma(d_a * d_w, total, sum). Several tokens are
// handled 8 at a time, lane t of one vector per row holding token t.
template <int R, int C>
struct SbSums {
    __m256 v[R];
    float s[R];
    alignas(32) float da[8];  // the activation scales of the current super-block
    SbSums() {
        for (int i = 0; i < R; ++i) v[i] = _mm256_setzero_ps(), s[i] = 0.0f;
    }
    void tokens(const BlockQ8_K* const (&yb)[C]) {
        for (int t = 0; t < 8; ++t) da[t] = t < C ? yb[t]->d : 0.0f;
    }
    void add(int i, float dw, const __m256i* sumi) {
        if constexpr (C == 1) {
            s[i] = __builtin_fmaf(da[0] * dw, float(hsum_i32(sumi[0])), s[i]);
        } else {
            v[i] = add_totals<C>(v[i], da, dw, sumi);
        }
    }
    // The sums of row i, token by token.
    void get(int i, float (&out)[8]) const {
        if constexpr (C == 1)
            out[0] = s[i];
        else
            _mm256_storeu_ps(out, v[i]);
    }
};

// Q4_K and Q5_K share everything but the high bit of Q5_K's levels.
template <bool kFive, int Rows, int Cols, int DecodeRows>
struct TileK4 {
    static constexpr int kRows = Rows, kCols = Cols, kDecodeRows = DecodeRows;
    static constexpr int kBlock = QK_K, kScales = 0;
    static constexpr bool kCorr = false;
    static void scales(const uint8_t*, int64_t, float*, float*, __m256i*) {}

    template <int R, int C, int CMAX>
    static void run(const uint8_t* w, size_t w_stride, int64_t cols, const TokenTile<CMAX>& tt, float* y,
                    int64_t ldy) {
        const uint8_t* const* a = tt.a;
        const int64_t nb = cols / QK_K;
        const __m256i m4 = _mm256_set1_epi8(0x0F);
        SbSums<R, C> acc;
        __m128 acc_m[R][C];  // Q4_K: 4 partial sums of the min term
        float summs[R][C];   // Q5_K: one
        for (int i = 0; i < R; ++i)
            for (int t = 0; t < C; ++t) {
                acc_m[i][t] = _mm_setzero_ps();
                summs[i][t] = 0.0f;
            }
        for (int64_t b = 0; b < nb; ++b) {
            const BlockQ8_K* yb[C];
            __m128i q8s[C];  // activation sums per 32
            for (int t = 0; t < C; ++t) {
                yb[t] = reinterpret_cast<const BlockQ8_K*>(a[t]) + b;
                const __m256i bs = load256(yb[t]->bsums);
                q8s[t] = _mm_hadd_epi16(_mm256_castsi256_si128(bs), _mm256_extracti128_si256(bs, 1));
            }
            acc.tokens(yb);
            for (int i = 0; i < R; ++i) {
                constexpr size_t kBytes = kFive ? sizeof(BlockQ5_K) : sizeof(BlockQ4_K);
                const uint8_t* xb = w + i * w_stride + b * kBytes;
                stream_prefetch<C>(tt.stream, xb + kDecodePrefetch, kBytes);
                uint16_t xd, xdmin;
                std::memcpy(&xd, xb, 2);
                std::memcpy(&xdmin, xb + 2, 2);
                const uint8_t* scales = xb + 4;
                const uint8_t* qh = xb + 16;                        // Q5_K only
                const uint8_t* qs = xb + (kFive ? 16 + 32 : 16);
                const __m128i sm = k4_scales_mins(scales);
                const __m256i sc16 = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(sm));
                const __m128i mins16 = _mm_cvtepu8_epi16(_mm_unpackhi_epi64(sm, sm));
                __m256i sumi[C];
                for (int t = 0; t < C; ++t) sumi[t] = _mm256_setzero_si256();
                __m256i hbits;
                if constexpr (kFive) hbits = load256(qh);
                for (int j = 0; j < 4; ++j) {
                    const __m256i q = load256(qs + 32 * j);
                    __m256i lo = _mm256_and_si256(q, m4);
                    __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
                    if constexpr (kFive) {
                        const __m256i bl = _mm256_set1_epi8(char(1 << (2 * j))), bh = _mm256_set1_epi8(char(2 << (2 * j)));
                        const __m256i h16 = _mm256_set1_epi8(0x10);
                        lo = _mm256_or_si256(lo, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(hbits, bl), bl), h16));
                        hi = _mm256_or_si256(hi, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(hbits, bh), bh), h16));
                    }
                    const __m256i s_lo = _mm256_shuffle_epi8(sc16, word_mask(2 * j, 2 * j));
                    const __m256i s_hi = _mm256_shuffle_epi8(sc16, word_mask(2 * j + 1, 2 * j + 1));
                    for (int t = 0; t < C; ++t) {
                        const __m256i p_lo =
                            _mm256_madd_epi16(_mm256_maddubs_epi16(lo, load256(yb[t]->qs + 64 * j)), s_lo);
                        const __m256i p_hi =
                            _mm256_madd_epi16(_mm256_maddubs_epi16(hi, load256(yb[t]->qs + 64 * j + 32)), s_hi);
                        sumi[t] = _mm256_add_epi32(sumi[t], _mm256_add_epi32(p_lo, p_hi));
                    }
                }
                const float xmf = f16(xdmin);
                acc.add(i, f16(xd), sumi);
                for (int t = 0; t < C; ++t) {
                    const float dmin = -yb[t]->d * xmf;
                    const __m128i prod = _mm_madd_epi16(mins16, q8s[t]);
                    if constexpr (kFive) {
                        __m128i s = _mm_add_epi32(prod, _mm_unpackhi_epi64(prod, prod));
                        s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 1));
                        summs[i][t] = __builtin_fmaf(dmin, float(_mm_cvtsi128_si32(s)), summs[i][t]);
                    } else {
                        acc_m[i][t] = _mm_fmadd_ps(_mm_set1_ps(dmin), _mm_cvtepi32_ps(prod), acc_m[i][t]);
                    }
                }
            }
        }
        for (int i = 0; i < R; ++i) {
            float sums[8];
            acc.get(i, sums);
            for (int t = 0; t < C; ++t) {
                float m;
                if constexpr (kFive) {
                    m = summs[i][t];
                } else {
                    __m128 v = _mm_add_ps(acc_m[i][t], _mm_movehl_ps(acc_m[i][t], acc_m[i][t]));  // m0+m2, m1+m3
                    v = _mm_add_ss(v, _mm_movehdup_ps(v));
                    m = _mm_cvtss_f32(v);
                }
                y[t * ldy + i] = sums[t] + m;
            }
        }
    }
};

template <int Rows, int Cols, int DecodeRows>
struct TileQ6K {
    static constexpr int kRows = Rows, kCols = Cols, kDecodeRows = DecodeRows;
    static constexpr int kBlock = QK_K, kScales = 0;
    static constexpr bool kCorr = false;
    static void scales(const uint8_t*, int64_t, float*, float*, __m256i*) {}

    template <int R, int C, int CMAX>
    static void run(const uint8_t* w, size_t w_stride, int64_t cols, const TokenTile<CMAX>& tt, float* y,
                    int64_t ldy) {
        const uint8_t* const* a = tt.a;
        const int64_t nb = cols / QK_K;
        const __m256i m4 = _mm256_set1_epi8(0x0F), m2 = _mm256_set1_epi8(0x30), k32 = _mm256_set1_epi8(32);
        SbSums<R, C> acc;
        for (int64_t b = 0; b < nb; ++b) {
            const BlockQ8_K* yb[C];
            for (int t = 0; t < C; ++t) yb[t] = reinterpret_cast<const BlockQ8_K*>(a[t]) + b;
            acc.tokens(yb);
            for (int i = 0; i < R; ++i) {
                const auto& x = *reinterpret_cast<const BlockQ6_K*>(w + i * w_stride + b * sizeof(BlockQ6_K));
                stream_prefetch<C>(tt.stream, reinterpret_cast<const uint8_t*>(&x) + kDecodePrefetch,
                                   sizeof(BlockQ6_K));
                const __m128i sc8 = load128(x.scales);
                const __m256i sc_lo = _mm256_broadcastsi128_si256(_mm_cvtepi8_epi16(sc8));
                const __m256i sc_hi = _mm256_broadcastsi128_si256(_mm_cvtepi8_epi16(_mm_unpackhi_epi64(sc8, sc8)));
                __m256i sumi[C];
                for (int t = 0; t < C; ++t) sumi[t] = _mm256_setzero_si256();
                for (int h = 0; h < 2; ++h) {
                    const __m256i ql0 = load256(x.ql + 64 * h), ql1 = load256(x.ql + 64 * h + 32);
                    const __m256i qh = load256(x.qh + 32 * h);
                    __m256i lv[4];
                    lv[0] = _mm256_or_si256(_mm256_and_si256(ql0, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), m2));
                    lv[1] = _mm256_or_si256(_mm256_and_si256(ql1, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), m2));
                    lv[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4), _mm256_and_si256(qh, m2));
                    lv[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4),
                                            _mm256_and_si256(_mm256_srli_epi16(qh, 2), m2));
                    for (int g = 0; g < 4; ++g) {
                        const int sg = 4 * h + g;  // group of 32: scales 2 sg, 2 sg + 1
                        const __m256i s = _mm256_sub_epi8(lv[g], k32);
                        const __m256i us = _mm256_sign_epi8(s, s);
                        const __m256i scale = _mm256_shuffle_epi8(sg < 4 ? sc_lo : sc_hi,
                                                                  word_mask((2 * sg) % 8, (2 * sg + 1) % 8));
                        for (int t = 0; t < C; ++t) {
                            const __m256i av = load256(yb[t]->qs + 32 * sg);
                            const __m256i p = _mm256_maddubs_epi16(us, _mm256_sign_epi8(av, s));
                            sumi[t] = _mm256_add_epi32(sumi[t], _mm256_madd_epi16(p, scale));
                        }
                    }
                }
                acc.add(i, f16(x.d), sumi);
            }
        }
        for (int i = 0; i < R; ++i) {
            float sums[8];
            acc.get(i, sums);
            for (int t = 0; t < C; ++t) y[t * ldy + i] = sums[t];
        }
    }
};

}  // namespace kinglet::kernels::KINGLET_ISA
