// Q4_0, Q5_0, Q8_0 (against Q8_0 activations) and Q4_1, Q5_1 (against Q8_1): blocks of 32. Per block
// and (row, token) pair the integer products land in 8 lanes of 4 consecutive elements, and each lane
// accumulates fma(d_w * d_a, lane, acc) — the order of the scalar reference, so results are bit-exact.
#pragma once
#include "tensor/kernels/x86/tiling.h"
#include "tensor/mat_ref.h"

namespace kinglet::kernels::KINGLET_ISA {

// Levels of one weight block as 32 bytes (signed types: -128..127; offset types: 0..31).
struct Q8_0Levels {
    using Block = BlockQ8_0;
    using Act = BlockQ8_0;
    static constexpr bool kSigned = true, kOffset = false;
    static __m256i levels(const Block& b) { return load256(b.qs); }
};
struct Q4_0Levels {
    using Block = BlockQ4_0;
    using Act = BlockQ8_0;
    static constexpr bool kSigned = true, kOffset = false;
    static __m256i levels(const Block& b) { return _mm256_sub_epi8(nibbles_to_bytes(b.qs), _mm256_set1_epi8(8)); }
};
struct Q5_0Levels {
    using Block = BlockQ5_0;
    using Act = BlockQ8_0;
    static constexpr bool kSigned = true, kOffset = false;
    // nibble + 16 * bit - 16: the nibble with 0xF0 or'ed in where the bit is clear.
    static __m256i levels(const Block& b) {
        const __m256i hi = _mm256_andnot_si256(bits_to_bytes(load_u32(b.qh)), _mm256_set1_epi8(char(0xF0)));
        return _mm256_or_si256(nibbles_to_bytes(b.qs), hi);
    }
};
struct Q4_1Levels {
    using Block = BlockQ4_1;
    using Act = BlockQ8_1;
    static constexpr bool kSigned = false, kOffset = true;
    static __m256i levels(const Block& b) { return nibbles_to_bytes(b.qs); }
};
struct Q5_1Levels {
    using Block = BlockQ5_1;
    using Act = BlockQ8_1;
    static constexpr bool kSigned = false, kOffset = true;
    static __m256i levels(const Block& b) {
        const __m256i hi = _mm256_and_si256(bits_to_bytes(load_u32(b.qh)), _mm256_set1_epi8(0x10));
        return _mm256_or_si256(nibbles_to_bytes(b.qs), hi);
    }
};

template <class L, int Rows, int Cols, int DecodeRows>
struct Tile32 {
    static constexpr int kRows = Rows, kCols = Cols, kDecodeRows = DecodeRows;
    static constexpr int kBlock = 32, kScales = L::kOffset ? 2 : 1;
    using Block = typename L::Block;
    using Act = typename L::Act;

    static void scales(const uint8_t* a, int64_t nb, float* d, float* s) {
        const Act* ab = reinterpret_cast<const Act*>(a);
        for (int64_t b = 0; b < nb; ++b) {
            d[b] = f16(ab[b].d);
            if constexpr (L::kOffset) s[b] = f16(ab[b].s);
        }
    }

    template <int R, int C, int CMAX>
    static void run(const uint8_t* w, size_t w_stride, int64_t cols, const TokenTile<CMAX>& tt, float* y, int64_t ldy) {
        const int64_t nb = cols / 32;
        const Block* wr[R];
        const Act* ar[C];
        for (int i = 0; i < R; ++i) wr[i] = reinterpret_cast<const Block*>(w + i * w_stride);
        for (int t = 0; t < C; ++t) ar[t] = reinterpret_cast<const Act*>(tt.a[t]);
        __m256 acc[R][C];
        float summs[R][C];
        for (int i = 0; i < R; ++i)
            for (int t = 0; t < C; ++t) {
                acc[i][t] = _mm256_setzero_ps();
                summs[i][t] = 0.0f;
            }
        for (int64_t b = 0; b < nb; ++b) {
            if constexpr (C == 1)
                for (int i = 0; i < R; ++i) prefetch(reinterpret_cast<const uint8_t*>(wr[i] + b) + R * w_stride, 1);
            __m256i lv[R], ux[R];
            __m256 dw[R];
            float mw[R];
            for (int i = 0; i < R; ++i) {
                lv[i] = L::levels(wr[i][b]);
                if constexpr (L::kSigned) ux[i] = _mm256_sign_epi8(lv[i], lv[i]);
                dw[i] = _mm256_set1_ps(f16(wr[i][b].d));
                if constexpr (L::kOffset) mw[i] = f16(wr[i][b].m);
            }
            for (int t = 0; t < C; ++t) {
                const __m256i av = load256(ar[t][b].qs);
                const __m256 da = _mm256_broadcast_ss(tt.d[t] + b);
                for (int i = 0; i < R; ++i) {
                    __m256i lanes;
                    if constexpr (L::kSigned) lanes = dot4(ux[i], _mm256_sign_epi8(av, lv[i]));
                    else lanes = dot4(lv[i], av);
                    acc[i][t] = _mm256_fmadd_ps(_mm256_mul_ps(dw[i], da), _mm256_cvtepi32_ps(lanes), acc[i][t]);
                    if constexpr (L::kOffset) summs[i][t] = __builtin_fmaf(mw[i], tt.s[t][b], summs[i][t]);
                }
            }
        }
        for (int i = 0; i < R; ++i)
            for (int t = 0; t < C; ++t) {
                float s = hsum_lanes(acc[i][t]);
                if constexpr (L::kOffset) s = s + summs[i][t];
                y[t * ldy + i] = s;
            }
    }
};

}  // namespace kinglet::kernels::KINGLET_ISA
