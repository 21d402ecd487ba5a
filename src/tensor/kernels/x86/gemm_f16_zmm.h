// F16 prefill for the AVX-512 family: the same sums as TileF16Ggml (tensor/dot.cpp dot_f16's order, so
// bit-exact), laid out for 32 registers of 16 lanes and with the work around the multiply-adds cut down.
//
// dot_f16 keeps 4 accumulators of 16 lanes per (row, token); accumulator p sums elements 16p..16p+15 of
// every 64-element chunk, chunk after chunk. Permuting the columns of both operands the same way
// ("pass-major": element 64c + 16p + l goes to p * q + 16c + l, q = bulk / 4) makes each accumulator's
// elements one contiguous run, so the product is 4 passes of plain 16-lane multiply-adds, pass p
// computing accumulator p, each element still added in chunk order.
//
// Per call (one thread's chunk of rows, all tokens):
//  - the activations are widened to float and permuted once (reused by every row of the call);
//  - the weights are permuted (still F16) once per panel of rows that stays in L2, and widened in
//    registers (each widened vector feeds kCols multiply-adds);
//  - per tile of kCols tokens, per pass, per block of kBlock columns (the tile's activations for one
//    block stay in L1), a kRows x kCols register tile runs over every row group of the panel, the
//    accumulators kept in memory between blocks (exact: floats stored and reloaded);
//  - the 4 accumulators of 16 (row, token) pairs are reduced together, in dot_f16's order, with
//    shuffles across registers instead of one horizontal reduction per pair.
#pragma once
#if defined(__AVX512F__)
#include <cstdlib>

#include "tensor/kernels/x86/gemm_float.h"

namespace kinglet::kernels::KINGLET_ISA {

// GCC 12's unmasked forms of these intrinsics pass an undefined source vector that -Wuninitialized
// reports; the zero-masked forms with every lane selected are the same instructions.
inline __m512 cvt16(const uint16_t* p) { return _mm512_maskz_cvtph_ps(0xFFFF, load256(p)); }
template <int Imm>
inline __m512 shuffle_x4(__m512 a, __m512 b) {
    return _mm512_maskz_shuffle_f32x4(0xFFFF, a, b, Imm);
}

struct F16Zmm {
    static constexpr int kRows = 4, kCols = 6;
    static constexpr int64_t kBlock = 512;         // floats of one pass per row and token (2 KiB)
    static constexpr size_t kPanelBytes = 256 << 10;  // permuted F16 weights of one panel

    // A per-thread buffer that grows and is freed when the thread ends.
    struct Scratch {
        void* p = nullptr;
        size_t n = 0;
        ~Scratch() { std::free(p); }
        void* get(size_t bytes) {
            if (bytes > n) {
                std::free(p);
                n = (bytes + 4095) / 4096 * 4096;
                p = std::aligned_alloc(64, n);
                if (!p) n = 0;
            }
            return p;
        }
    };

    // One pair's accumulators (part[0..3]) to its float sum: dot_f16's (a0 + a2) + (a1 + a3), then 16 ->
    // 8 -> 4 -> 2 -> 1 lanes.
    static float reduce1(const __m512* part) {
        const __m512 s = _mm512_add_ps(_mm512_add_ps(part[0], part[2]), _mm512_add_ps(part[1], part[3]));
        alignas(64) float l[16];  // (GCC 12 warns on _mm512_castps512_ps256 too)
        _mm512_store_ps(l, s);
        const __m256 r8 = _mm256_add_ps(_mm256_load_ps(l), _mm256_load_ps(l + 8));
        __m128 r4 = _mm_add_ps(_mm256_castps256_ps128(r8), _mm256_extractf128_ps(r8, 1));
        r4 = _mm_add_ps(r4, _mm_movehl_ps(r4, r4));
        r4 = _mm_add_ss(r4, _mm_movehdup_ps(r4));
        return _mm_cvtss_f32(r4);
    }

    // 16 pairs at once (pair i's accumulators at part + i * stride): the same additions as reduce1 for
    // each, lane i of the result is pair i's sum. Each step adds lane l to lane l + w of one pair.
    static __m512 reduce16(const __m512* part, int64_t stride) {
        __m512 z[16];
        for (int i = 0; i < 16; ++i) {
            const __m512* q = part + i * stride;
            z[i] = _mm512_add_ps(_mm512_add_ps(q[0], q[2]), _mm512_add_ps(q[1], q[3]));
        }
        __m512 v[8];  // 16 -> 8: pairs 2j, 2j + 1 in lanes 0-7, 8-15
        for (int j = 0; j < 8; ++j)
            v[j] = _mm512_add_ps(shuffle_x4<_MM_SHUFFLE(1, 0, 1, 0)>(z[2 * j], z[2 * j + 1]),
                                 shuffle_x4<_MM_SHUFFLE(3, 2, 3, 2)>(z[2 * j], z[2 * j + 1]));
        __m512 u[4];  // 8 -> 4: pair 4m + i in lanes 4i..4i+3
        for (int m = 0; m < 4; ++m)
            u[m] = _mm512_add_ps(shuffle_x4<_MM_SHUFFLE(2, 0, 2, 0)>(v[2 * m], v[2 * m + 1]),
                                 shuffle_x4<_MM_SHUFFLE(3, 1, 3, 1)>(v[2 * m], v[2 * m + 1]));
        __m512 t[2];  // 4 -> 2: 128-bit lane i holds pairs 8n + i (lanes 0, 1) and 8n + 4 + i (lanes 2, 3)
        for (int n = 0; n < 2; ++n)
            t[n] = _mm512_add_ps(_mm512_shuffle_ps(u[2 * n], u[2 * n + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                                 _mm512_shuffle_ps(u[2 * n], u[2 * n + 1], _MM_SHUFFLE(3, 2, 3, 2)));
        // 2 -> 1: 128-bit lane i holds pairs i, 4 + i, 8 + i, 12 + i.
        const __m512 r = _mm512_add_ps(_mm512_shuffle_ps(t[0], t[1], _MM_SHUFFLE(2, 0, 2, 0)),
                                       _mm512_shuffle_ps(t[0], t[1], _MM_SHUFFLE(3, 1, 3, 1)));
        const __m512i order = _mm512_set_epi32(15, 11, 7, 3, 14, 10, 6, 2, 13, 9, 5, 1, 12, 8, 4, 0);
        return _mm512_maskz_permutexvar_ps(0xFFFF, order, r);
    }

    // Rows w + i * ldw (F16) times tokens a + t * lda (float), n permuted columns, into accumulators
    // part[(i * C + t) * 4] (started from zero when first).
    template <int R, int C>
    static void block(const uint16_t* w, int64_t ldw, const float* a, int64_t lda, int64_t n, bool first,
                      __m512* part) {
        __m512 acc[R][C];
        for (int i = 0; i < R; ++i)
            for (int t = 0; t < C; ++t) acc[i][t] = first ? _mm512_setzero_ps() : part[(i * C + t) * 4];
        for (int64_t k = 0; k < n; k += 16) {
            __m512 wv[R];
            for (int i = 0; i < R; ++i) wv[i] = cvt16(w + i * ldw + k);
            for (int t = 0; t < C; ++t) {
                const __m512 av = _mm512_loadu_ps(a + t * lda + k);
                for (int i = 0; i < R; ++i) acc[i][t] = _mm512_fmadd_ps(wv[i], av, acc[i][t]);
            }
        }
        for (int i = 0; i < R; ++i)
            for (int t = 0; t < C; ++t) part[(i * C + t) * 4] = acc[i][t];
    }

    // Every pass and block of one token tile of C tokens over the panel's rows.
    template <int C>
    static void tile(const uint16_t* w, int64_t ldw, int64_t rows, int64_t q, const float* a, int64_t lda, int nt,
                     __m512* part) {
        if (nt == C) {
            for (int p = 0; p < 4; ++p)
                for (int64_t k0 = 0; k0 < q; k0 += kBlock) {
                    const int64_t n = k0 + kBlock < q ? kBlock : q - k0, off = p * q + k0;
                    int64_t r = 0;
                    for (; r + kRows <= rows; r += kRows)
                        block<kRows, C>(w + r * ldw + off, ldw, a + off, lda, n, k0 == 0, part + r * C * 4 + p);
                    for (; r < rows; ++r)
                        block<1, C>(w + r * ldw + off, ldw, a + off, lda, n, k0 == 0, part + r * C * 4 + p);
                }
        } else if constexpr (C > 1) {
            tile<C - 1>(w, ldw, rows, q, a, lda, nt, part);
        }
    }

    // Columns 64c + 16p + l of one row to p * q + 16c + l.
    static void permute_f16(const uint16_t* s, uint16_t* d, int64_t bulk) {
        const int64_t q = bulk / 4;
        for (int64_t c = 0; c < bulk / 64; ++c)
            for (int p = 0; p < 4; ++p)
                _mm256_storeu_si256(reinterpret_cast<__m256i*>(d + p * q + 16 * c), load256(s + 64 * c + 16 * p));
    }
    static void permute_f32(const uint16_t* s, float* d, int64_t bulk) {
        const int64_t q = bulk / 4;
        for (int64_t c = 0; c < bulk / 64; ++c)
            for (int p = 0; p < 4; ++p) _mm512_storeu_ps(d + p * q + 16 * c, cvt16(s + 64 * c + 16 * p));
    }

    // Rows [r0, r1) of w (F16, w_stride bytes apart) times n_tok F16 activation rows; false when the
    // scratch memory could not be had (the caller then takes the general path).
    static bool gemm(const uint8_t* w8, size_t w_stride, int64_t cols, int64_t r0, int64_t r1, const uint8_t* a8,
                     size_t a_stride, int64_t n_tok, float* y, int64_t ldy) {
        const int64_t bulk = cols - cols % 64, q = bulk / 4;
        // Rows 64 bytes longer than needed, so the rows of a tile (usually a multiple of 4 KiB long) do not
        // fall into the same L1 sets.
        const int64_t lda = bulk + 16, ldw = bulk + 32;
        int64_t panel = int64_t(kPanelBytes / size_t(2 * ldw));
        panel = panel < kRows ? kRows : panel - panel % kRows;
        if (panel > r1 - r0) panel = r1 - r0;
        const size_t a_bytes = size_t(n_tok * lda) * 4, w_bytes = size_t(panel * ldw) * 2;
        const size_t p_bytes = size_t(panel) * kCols * 4 * sizeof(__m512);
        thread_local Scratch scratch;
        auto* base = static_cast<uint8_t*>(scratch.get(a_bytes + w_bytes + p_bytes));
        if (!base) return false;
        auto* part = reinterpret_cast<__m512*>(base);
        auto* act = reinterpret_cast<float*>(base + p_bytes);
        auto* wp = reinterpret_cast<uint16_t*>(base + p_bytes + a_bytes);
        for (int64_t t = 0; t < n_tok; ++t)
            permute_f32(reinterpret_cast<const uint16_t*>(a8 + t * a_stride), act + t * lda, bulk);
        for (int64_t p0 = r0; p0 < r1; p0 += panel) {
            const int64_t p1 = p0 + panel < r1 ? p0 + panel : r1, rows = p1 - p0;
            for (int64_t r = p0; r < p1; ++r)
                permute_f16(reinterpret_cast<const uint16_t*>(w8 + r * w_stride), wp + (r - p0) * ldw, bulk);
            for (int64_t t0 = 0; t0 < n_tok; t0 += kCols) {
                const int nt = int(n_tok - t0 < kCols ? n_tok - t0 : kCols);
                tile<kCols>(wp, ldw, rows, q, act + t0 * lda, lda, nt, part);
                for (int t = 0; t < nt; ++t) {
                    float* yt = y + (t0 + t) * ldy + p0;
                    int64_t r = 0;
                    if (bulk == cols)  // no tail: the sum is the float itself
                        for (; r + 16 <= rows; r += 16) _mm512_storeu_ps(yt + r, reduce16(part + (r * nt + t) * 4, nt * 4));
                    const auto* v = reinterpret_cast<const uint16_t*>(a8 + (t0 + t) * a_stride);
                    for (; r < rows; ++r) {
                        const auto* x = reinterpret_cast<const uint16_t*>(w8 + (p0 + r) * w_stride);
                        double sum = double(reduce1(part + (r * nt + t) * 4));
                        for (int64_t k = bulk; k < cols; ++k) sum += double(f16(x[k]) * f16(v[k]));
                        yt[r] = float(sum);
                    }
                }
            }
        }
        return true;
    }
};

}  // namespace kinglet::kernels::KINGLET_ISA
#endif
