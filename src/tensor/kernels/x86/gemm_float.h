// F32, F16 and BF16 weights against activations of the same type. F16 follows the scalar reference's
// (ggml_vec_dot_f16's) order exactly, so it is bit-exact; F32 and BF16 sum their products in 8 float
// lanes where the reference sums in double, so they agree with it to float rounding (tests/tensor
// allow for that).
#pragma once
#include "tensor/kernels/x86/tiling.h"
#include "tensor/mat_ref.h"

namespace kinglet::kernels::KINGLET_ISA {

struct F32Elems {
    using T = float;
    static __m256 load8(const float* p) { return _mm256_loadu_ps(p); }
    static float one(const float* p) { return *p; }
};
struct F16Elems {
    using T = uint16_t;
    static __m256 load8(const uint16_t* p) { return _mm256_cvtph_ps(load128(p)); }
    static float one(const uint16_t* p) { return f16(*p); }
};
struct BF16Elems {
    using T = uint16_t;
    static __m256 load8(const uint16_t* p) {
        return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(load128(p)), 16));
    }
    static float one(const uint16_t* p) {
        const uint32_t bits = uint32_t(*p) << 16;
        float f;
        std::memcpy(&f, &bits, 4);
        return f;
    }
};

template <class E, int Rows, int Cols, int DecodeRows>
struct TileFloat {
    static constexpr int kRows = Rows, kCols = Cols, kDecodeRows = DecodeRows;
    static constexpr int kBlock = 1, kScales = 0;
    static constexpr bool kCorr = false;
    static void scales(const uint8_t*, int64_t, float*, float*, __m256i*) {}
    using T = typename E::T;

    template <int R, int C, int CMAX>
    static void run(const uint8_t* w, size_t w_stride, int64_t cols, const TokenTile<CMAX>& tt, float* y,
                    int64_t ldy) {
        const uint8_t* const* a = tt.a;
        const T* wr[R];
        const T* ar[C];
        for (int i = 0; i < R; ++i) wr[i] = reinterpret_cast<const T*>(w + i * w_stride);
        for (int t = 0; t < C; ++t) ar[t] = reinterpret_cast<const T*>(a[t]);
        __m256 acc[R][C];
        for (int i = 0; i < R; ++i)
            for (int t = 0; t < C; ++t) acc[i][t] = _mm256_setzero_ps();
        const int64_t bulk = cols - cols % 8;
        for (int64_t k = 0; k < bulk; k += 8) {
            __m256 wv[R];
            for (int i = 0; i < R; ++i) wv[i] = E::load8(wr[i] + k);
            for (int t = 0; t < C; ++t) {
                const __m256 av = E::load8(ar[t] + k);
                for (int i = 0; i < R; ++i) acc[i][t] = _mm256_fmadd_ps(wv[i], av, acc[i][t]);
            }
        }
        for (int i = 0; i < R; ++i)
            for (int t = 0; t < C; ++t) {
                float s = hsum_lanes(acc[i][t]);
                for (int64_t k = bulk; k < cols; ++k) s = __builtin_fmaf(E::one(wr[i] + k), E::one(ar[t] + k), s);
                y[t * ldy + i] = s;
            }
    }
};

#if defined(__AVX512F__)
// The sum of 16 float lanes: lanes l and l + 8 added, then hsum_lanes. The 512-bit tiles below end with it.
inline float hsum_lanes16(__m512 v) {
    return hsum_lanes(_mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1)));
}

// One 16-lane float accumulator per (row, token), Ops::kStep elements per step, the last step of a row
// masked (the missing elements load as zero and add nothing); the lanes are then summed in float, so the
// result agrees with the reference's double sum to float rounding, as TileFloat's does. Tiles of 4 x 4:
// 8 rows of 2 KiB-multiple lengths fall into the same L1 sets, and more than 8 would evict each other.
// Ops: Elem, Vec, Mask, kStep, load(mask, p) and madd(acc, w, a).
template <class Ops, int Rows, int Cols, int DecodeRows>
struct TileZmm {
    static constexpr int kRows = Rows, kCols = Cols, kDecodeRows = DecodeRows;
    static constexpr int kBlock = 1, kScales = 0;
    static constexpr bool kCorr = false;
    static void scales(const uint8_t*, int64_t, float*, float*, __m256i*) {}

    template <int R, int C, int CMAX>
    static void run(const uint8_t* w, size_t w_stride, int64_t cols, const TokenTile<CMAX>& tt, float* y,
                    int64_t ldy) {
        using E = typename Ops::Elem;
        using M = typename Ops::Mask;
        constexpr int kStep = Ops::kStep;
        const E* wr[R];
        const E* ar[C];
        for (int i = 0; i < R; ++i) wr[i] = reinterpret_cast<const E*>(w + i * w_stride);
        for (int t = 0; t < C; ++t) ar[t] = reinterpret_cast<const E*>(tt.a[t]);
        __m512 acc[R][C];
        for (int i = 0; i < R; ++i)
            for (int t = 0; t < C; ++t) acc[i][t] = _mm512_setzero_ps();
        auto step = [&](int64_t k, M m) __attribute__((always_inline)) {
            typename Ops::Vec wv[R];
            for (int i = 0; i < R; ++i) wv[i] = Ops::load(m, wr[i] + k);
            for (int t = 0; t < C; ++t) {
                const typename Ops::Vec av = Ops::load(m, ar[t] + k);
                for (int i = 0; i < R; ++i) acc[i][t] = Ops::madd(acc[i][t], wv[i], av);
            }
        };
        const int64_t bulk = cols - cols % kStep;
        for (int64_t k = 0; k < bulk; k += kStep) {
            if (R * C == 1 && tt.stream)
                gemv_prefetch(reinterpret_cast<const char*>(wr[0] + k) + kDecodePrefetch, 64);
            step(k, M(~M(0)));
        }
        if (bulk < cols) step(bulk, M((1u << (cols - bulk)) - 1));
        for (int i = 0; i < R; ++i)
            for (int t = 0; t < C; ++t) y[t * ldy + i] = hsum_lanes16(acc[i][t]);
    }
};

// F32 on TileZmm: 16 elements per step, one FMA each.
struct ZmmF32 {
    using Elem = float;
    using Vec = __m512;
    using Mask = __mmask16;
    static constexpr int kStep = 16;
    static Vec load(Mask m, const float* p) { return _mm512_maskz_loadu_ps(m, p); }
    static __m512 madd(__m512 acc, Vec w, Vec a) { return _mm512_fmadd_ps(w, a, acc); }
};
#endif

#if defined(__AVX512BF16__) && defined(__AVX512BW__)
// BF16 on TileZmm with AVX512-BF16's dot product: each 32-bit lane adds two products of bfloat16 pairs
// per instruction (vdpbf16ps: the products are exact in float, each addition rounds to nearest; denormal
// inputs and results count as zero), twice the multiply-adds per instruction of widening to float and
// FMA, and no widening: 32 elements per step.
struct ZmmBF16 {
    using Elem = uint16_t;
    using Vec = __m512bh;
    using Mask = __mmask32;
    static constexpr int kStep = 32;
    static Vec load(Mask m, const uint16_t* p) { return (__m512bh)_mm512_maskz_loadu_epi16(m, p); }
    static __m512 madd(__m512 acc, Vec w, Vec a) { return _mm512_dpbf16_ps(acc, w, a); }
};
#endif

// F16 in ggml_vec_dot_f16's order (tensor/dot.cpp dot_f16): per 64-element chunk, 4 x 16 lanes (two
// 8-lane registers each) with one FMA per element; (a0 + a2) + (a1 + a3); 16 -> 8 -> 4 -> 2 -> 1; the
// rest in double. That is 8 accumulators (of 8 lanes) per (row, token), each fed by its own eighth of
// every chunk: accumulator p sums elements 8p..8p+7 of chunk 0, of chunk 1, and so on.
//
// One token (decode) streams its weights: one row at a time, all 8 accumulators in one pass.
// Several tokens: a tile of kRows x kCols (row, token) pairs would need 8 accumulators each, more than
// the 16 registers, so the tile makes 8 passes over a block of columns instead, pass p computing only
// accumulator p of every pair (one register per pair, each weight and activation vector used by
// kCols and kRows FMAs); the accumulators are kept in memory between passes and blocks. Each
// accumulator still sums the same products in the same order, so the bits are those of one pass. The
// block of columns (kColBlock) keeps the tile's weights and activations in L1 across the 8 passes.
// Measured on the 1B shape's prefill (kinglet bench -p 128 -t 1): 3 x 4 beat 4 x 3, 2 x 6 and blocks of
// 512 or 2048, and reading the F16 activations directly beat widening them to float once per tile
// (the widened copy costs more stores than the conversions it saves).
struct TileF16Ggml {
    static constexpr int kRows = 3, kCols = 4, kDecodeRows = 1;
    static constexpr int kBlock = 1, kScales = 0;
    static constexpr bool kCorr = false;
    static constexpr int64_t kColBlock = 1024;

    static float reduce(const __m256* s) {  // s[2j + h]: accumulator (j, h) of one pair
        const __m256 r0 = _mm256_add_ps(_mm256_add_ps(s[0], s[4]), _mm256_add_ps(s[2], s[6]));
        const __m256 r1 = _mm256_add_ps(_mm256_add_ps(s[1], s[5]), _mm256_add_ps(s[3], s[7]));
        const __m256 r8 = _mm256_add_ps(r0, r1);
        __m128 r4 = _mm_add_ps(_mm256_castps256_ps128(r8), _mm256_extractf128_ps(r8, 1));
        r4 = _mm_add_ps(r4, _mm_movehl_ps(r4, r4));
        r4 = _mm_add_ss(r4, _mm_movehdup_ps(r4));
        return _mm_cvtss_f32(r4);
    }

    template <int R, int C, int CMAX>
    static void run(const uint8_t* w, size_t w_stride, int64_t cols, const TokenTile<CMAX>& tt, float* y,
                    int64_t ldy) {
        const int64_t bulk = cols - cols % 64;
        if constexpr (R == 1 && C == 1) {
            if (tt.stream) {  // decode
                const auto* x = reinterpret_cast<const uint16_t*>(w);
                const auto* v = reinterpret_cast<const uint16_t*>(tt.a[0]);
                double sum = 0.0;
                if (bulk > 0) {
                    __m256 s[8];
                    for (auto& sp : s) sp = _mm256_setzero_ps();
                    for (int64_t i = 0; i < bulk; i += 64) {
                        gemv_prefetch(reinterpret_cast<const char*>(x + i) + kDecodePrefetch, 128);
                        for (int p = 0; p < 8; ++p)
                            s[p] = _mm256_fmadd_ps(_mm256_cvtph_ps(load128(x + i + 8 * p)),
                                                   _mm256_cvtph_ps(load128(v + i + 8 * p)), s[p]);
                    }
                    sum = reduce(s);
                }
                for (int64_t i = bulk; i < cols; ++i) sum += double(f16(x[i]) * f16(v[i]));
                y[0] = float(sum);
                return;
            }
        }
        const uint16_t* x[R];
        const uint16_t* v[C];
        for (int i = 0; i < R; ++i) x[i] = reinterpret_cast<const uint16_t*>(w + i * w_stride);
        for (int t = 0; t < C; ++t) v[t] = reinterpret_cast<const uint16_t*>(tt.a[t]);
        __m256 part[R][C][8];
        for (int64_t k0 = 0; k0 < bulk; k0 += kColBlock) {
            const int64_t k1 = k0 + kColBlock < bulk ? k0 + kColBlock : bulk;
            for (int p = 0; p < 8; ++p) {
                __m256 acc[R][C];
                for (int i = 0; i < R; ++i)
                    for (int t = 0; t < C; ++t) acc[i][t] = k0 == 0 ? _mm256_setzero_ps() : part[i][t][p];
                for (int64_t k = k0 + 8 * p; k < k1; k += 64) {
                    __m256 wv[R];
                    for (int i = 0; i < R; ++i) wv[i] = _mm256_cvtph_ps(load128(x[i] + k));
                    for (int t = 0; t < C; ++t) {
                        const __m256 av = _mm256_cvtph_ps(load128(v[t] + k));
                        for (int i = 0; i < R; ++i) acc[i][t] = _mm256_fmadd_ps(wv[i], av, acc[i][t]);
                    }
                }
                for (int i = 0; i < R; ++i)
                    for (int t = 0; t < C; ++t) part[i][t][p] = acc[i][t];
            }
        }
        for (int i = 0; i < R; ++i)
            for (int t = 0; t < C; ++t) {
                double sum = bulk > 0 ? double(reduce(part[i][t])) : 0.0;
                for (int64_t k = bulk; k < cols; ++k) sum += double(f16(x[i][k]) * f16(v[t][k]));
                y[t * ldy + i] = float(sum);
            }
    }
};

}  // namespace kinglet::kernels::KINGLET_ISA
