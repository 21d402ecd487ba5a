// How the x86 matrix products walk a matrix: a thread's rows are cut into panels that stay in L2, each
// panel is swept once per tile of tokens, and within a tile a micro-kernel computes R rows x C tokens
// with every weight block unpacked once and used for all C tokens while it is in registers. Every
// (row, token) result is still accumulated block by block in the reference's order, so the tiling
// changes speed, never bits.
#pragma once
#include <cstddef>
#include <cstdint>

#include "tensor/kernels/kernels.h"
#include "tensor/kernels/x86/common.h"
#include "tensor/mat_ref.h"

namespace kinglet::kernels::KINGLET_ISA {

// The activation rows of one tile of tokens, with their per-block float scales (d) and sums (s)
// when the tile type asks for them (Tile::kScales: 0, 1 or 2 floats per block), and 8 int32 lanes of
// per-block corrections (c) when Tile::kCorr, converted once per tile rather than once per (row, block).
// stream: the product has at most kStreamTokens tokens (decode, batched decode), so each weight row is
// read about once and comes from memory: the tile prefetches its weights ahead (kDecodePrefetch; for one
// token only where kGemvPrefetch, common.h).
// Prefill sweeps a panel of rows from L2 once per tile of tokens and does not.
template <int C>
struct TokenTile {
    const uint8_t* a[C];
    const float* d[C];
    const float* s[C];
    const __m256i* c[C];
    bool stream;
};

// Tile::run<R, C>(w, w_stride, cols, tt, y, ldy) computes rows w, w + w_stride, ... (R of them) against
// the first C activation rows of tt into y[t * ldy + i]. Tile::kRows x Tile::kCols is the prefill
// shape, Tile::kDecodeRows x 1 the shape for a single token.
template <class Tile, int R, int NC, int CMAX>
void sweep_rows(const uint8_t* w, size_t w_stride, int64_t cols, int64_t r0, int64_t r1, const TokenTile<CMAX>& tt,
                int nt, float* y, int64_t ldy) {
    if (nt == NC) {
        int64_t r = r0;
        for (; r + R <= r1; r += R) Tile::template run<R, NC>(w + r * w_stride, w_stride, cols, tt, y + r, ldy);
        for (; r < r1; ++r) Tile::template run<1, NC>(w + r * w_stride, w_stride, cols, tt, y + r, ldy);
    } else if constexpr (NC > 1) {
        sweep_rows<Tile, R, NC - 1, CMAX>(w, w_stride, cols, r0, r1, tt, nt, y, ldy);
    }
}

template <class Tile, int C>
void fill_tile(TokenTile<C>& tt, const uint8_t* a, size_t a_stride, int64_t t, int nt, int64_t cols, float* scratch,
               __m256i* corr) {
    const int64_t nb = cols / Tile::kBlock;
    for (int i = 0; i < C; ++i) {
        tt.a[i] = a + (t + (i < nt ? i : 0)) * a_stride;
        tt.d[i] = tt.s[i] = nullptr;
        tt.c[i] = nullptr;
        if constexpr (Tile::kScales > 0) {
            float* d = scratch + 2 * i * nb;
            __m256i* c = Tile::kCorr ? corr + i * nb : nullptr;
            tt.d[i] = d;
            tt.s[i] = d + nb;
            tt.c[i] = c;
            if (i < nt) Tile::scales(tt.a[i], nb, d, d + nb, c);
        }
    }
}

template <class Tile>
void tiled_gemm(const uint8_t* w, size_t w_stride, int64_t cols, int64_t r0, int64_t r1, const uint8_t* a,
                size_t a_stride, int64_t n_tok, float* y, int64_t ldy) {
    constexpr int R = Tile::kRows, C = Tile::kCols;
    const int64_t nb = cols / Tile::kBlock;
    float* scratch = Tile::kScales > 0 ? static_cast<float*>(__builtin_alloca(sizeof(float) * 2 * C * nb)) : nullptr;
    __m256i* corr =
        Tile::kCorr ? static_cast<__m256i*>(__builtin_alloca_with_align(sizeof(__m256i) * C * nb, 256)) : nullptr;
    if (n_tok == 1) {
        TokenTile<1> tt;
        tt.stream = true;
        fill_tile<Tile, 1>(tt, a, a_stride, 0, 1, cols, scratch, corr);
        sweep_rows<Tile, Tile::kDecodeRows, 1, 1>(w, w_stride, cols, r0, r1, tt, 1, y, ldy);
        return;
    }
    // A panel of rows small enough to stay in L2 while every token tile sweeps it.
    int64_t panel = int64_t(192 * 1024 / (w_stride ? w_stride : 1));
    panel = panel < R ? R : panel - panel % R;
    for (int64_t p0 = r0; p0 < r1; p0 += panel) {
        const int64_t p1 = p0 + panel < r1 ? p0 + panel : r1;
        for (int64_t t = 0; t < n_tok; t += C) {
            const int nt = int(n_tok - t < C ? n_tok - t : C);
            TokenTile<C> tt;
            tt.stream = n_tok <= kStreamTokens;
            fill_tile<Tile, C>(tt, a, a_stride, t, nt, cols, scratch, corr);
            sweep_rows<Tile, R, C, C>(w, w_stride, cols, p0, p1, tt, nt, y + t * ldy, ldy);
        }
    }
}

// The GemmFn form of tiled_gemm.
template <class Tile>
void gemm_tiled(const MatRef& w, int64_t r0, int64_t r1, const void* a, size_t a_stride, int64_t n_tok, float* y,
                int64_t ldy) {
    tiled_gemm<Tile>(static_cast<const uint8_t*>(w.data), w.row_bytes, w.cols, r0, r1,
                     static_cast<const uint8_t*>(a), a_stride, n_tok, y, ldy);
}

}  // namespace kinglet::kernels::KINGLET_ISA
