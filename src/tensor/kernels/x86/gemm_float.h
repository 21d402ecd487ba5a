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

// F16 in ggml_vec_dot_f16's order (tensor/dot.cpp dot_f16): per 64-element chunk, 4 x 16 lanes (two
// 8-lane registers each) with one FMA per element; (a0 + a2) + (a1 + a3); 16 -> 8 -> 4 -> 2 -> 1; the
// rest in double. One row and one token at a time: a pair already has 8 accumulators in flight.
struct TileF16Ggml {
    static constexpr int kRows = 1, kCols = 1, kDecodeRows = 1;
    static constexpr int kBlock = 1, kScales = 0;
    static constexpr bool kCorr = false;
    static void scales(const uint8_t*, int64_t, float*, float*, __m256i*) {}

    template <int R, int C, int CMAX>
    static void run(const uint8_t* w, size_t, int64_t cols, const TokenTile<CMAX>& tt, float* y, int64_t) {
        const uint8_t* const* a = tt.a;
        static_assert(R == 1 && C == 1);
        const auto* x = reinterpret_cast<const uint16_t*>(w);
        const auto* v = reinterpret_cast<const uint16_t*>(a[0]);
        const int64_t bulk = cols - cols % 64;
        double sum = 0.0;
        if (bulk > 0) {
            __m256 s[4][2];
            for (auto& sj : s) sj[0] = sj[1] = _mm256_setzero_ps();
            for (int64_t i = 0; i < bulk; i += 64) {
                prefetch(reinterpret_cast<const char*>(x + i) + kDecodePrefetch, 128);
                for (int j = 0; j < 4; ++j)
                    for (int h = 0; h < 2; ++h) {
                        const int64_t e = i + 16 * j + 8 * h;
                        s[j][h] = _mm256_fmadd_ps(_mm256_cvtph_ps(load128(x + e)), _mm256_cvtph_ps(load128(v + e)), s[j][h]);
                    }
            }
            const __m256 r0 = _mm256_add_ps(_mm256_add_ps(s[0][0], s[2][0]), _mm256_add_ps(s[1][0], s[3][0]));
            const __m256 r1 = _mm256_add_ps(_mm256_add_ps(s[0][1], s[2][1]), _mm256_add_ps(s[1][1], s[3][1]));
            const __m256 r8 = _mm256_add_ps(r0, r1);
            __m128 r4 = _mm_add_ps(_mm256_castps256_ps128(r8), _mm256_extractf128_ps(r8, 1));
            r4 = _mm_add_ps(r4, _mm_movehl_ps(r4, r4));
            r4 = _mm_add_ss(r4, _mm_movehdup_ps(r4));
            sum = _mm_cvtss_f32(r4);
        }
        for (int64_t i = bulk; i < cols; ++i) sum += double(f16(x[i]) * f16(v[i]));
        y[0] = float(sum);
    }
};

}  // namespace kinglet::kernels::KINGLET_ISA
