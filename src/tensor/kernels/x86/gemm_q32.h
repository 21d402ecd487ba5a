// Q4_0, Q5_0, Q8_0 (against Q8_0 activations) and Q4_1, Q5_1 (against Q8_1): blocks of 32. Per block
// and (row, token) pair the integer products land in 8 lanes of 4 consecutive elements, and each lane
// accumulates fma(d_w * d_a, lane, acc) — the order of the scalar reference, so results are bit-exact.
#pragma once
#include "tensor/kernels/x86/tiling.h"
#include "tensor/mat_ref.h"

namespace kinglet::kernels::KINGLET_ISA {

// Levels of one weight block as 32 bytes. Q8_0 is signed (-128..127) and multiplies through the sign
// trick; the 4- and 5-bit types are kept unsigned (0..15, 0..31) so that one unsigned-by-signed multiply
// does: Q4_0 and Q5_0 subtract their bias (8, 16) times the activations' 4-element sums, which are
// computed once per token and block; Q4_1 and Q5_1 carry their offset as a float term.
struct Q8_0Levels {
    using Block = BlockQ8_0;
    using Act = BlockQ8_0;
    static constexpr bool kSigned = true, kOffset = false;
    static constexpr int kBias = 0;
    static __m256i levels(const Block& b) { return load256(b.qs); }
};
struct Q4_0Levels {
    using Block = BlockQ4_0;
    using Act = BlockQ8_0;
    static constexpr bool kSigned = false, kOffset = false;
    static constexpr int kBias = 8;
    static __m256i levels(const Block& b) { return nibbles_to_bytes(b.qs); }
};
struct Q5_0Levels {
    using Block = BlockQ5_0;
    using Act = BlockQ8_0;
    static constexpr bool kSigned = false, kOffset = false;
    static constexpr int kBias = 16;
    static __m256i levels(const Block& b) {
        const __m256i hi = _mm256_and_si256(bits_to_bytes(load_u32(b.qh)), _mm256_set1_epi8(0x10));
        return _mm256_or_si256(nibbles_to_bytes(b.qs), hi);
    }
};
struct Q4_1Levels {
    using Block = BlockQ4_1;
    using Act = BlockQ8_1;
    static constexpr bool kSigned = false, kOffset = true;
    static constexpr int kBias = 0;
    static __m256i levels(const Block& b) { return nibbles_to_bytes(b.qs); }
};
struct Q5_1Levels {
    using Block = BlockQ5_1;
    using Act = BlockQ8_1;
    static constexpr bool kSigned = false, kOffset = true;
    static constexpr int kBias = 0;
    static __m256i levels(const Block& b) {
        const __m256i hi = _mm256_and_si256(bits_to_bytes(load_u32(b.qh)), _mm256_set1_epi8(0x10));
        return _mm256_or_si256(nibbles_to_bytes(b.qs), hi);
    }
};

// A block scale (F16) as 8 float lanes.
inline __m256 half_to_ps8(uint16_t h) { return _mm256_cvtph_ps(_mm_set1_epi16(short(h))); }

template <class L, int DecodeRows>
struct Tile32 {
    static constexpr int kRows = 1, kCols = 1, kDecodeRows = DecodeRows;
    static constexpr int kBlock = 32, kScales = L::kOffset ? 2 : 1;
    static constexpr bool kBiased = L::kBias != 0, kCorr = kBiased;
    using Block = typename L::Block;
    using Act = typename L::Act;

    // Per activation block: its scale d, its sum s (Q8_1) and, for the biased types, bias * (the 8
    // lanes of 4-element sums of its levels), which the unsigned products then subtract exactly.
    static void scales(const uint8_t* a, int64_t nb, float* d, float* s, __m256i* corr) {
        const Act* ab = reinterpret_cast<const Act*>(a);
        for (int64_t b = 0; b < nb; ++b) {
            d[b] = f16(ab[b].d);
            if constexpr (L::kOffset) s[b] = f16(ab[b].s);
            if constexpr (kBiased)
                corr[b] = _mm256_mullo_epi32(dot4(_mm256_set1_epi8(1), load256(ab[b].qs)), _mm256_set1_epi32(L::kBias));
        }
    }

    // The 8 integer lanes of one (weight block, activation block) pair from the weight levels lv (and
    // |lv| in ux for the signed type).
    static __m256i lanes(__m256i lv, __m256i ux, __m256i av, const __m256i* corr) {
        if constexpr (L::kSigned) return dot4(ux, _mm256_sign_epi8(av, lv));
        else if constexpr (kBiased) return _mm256_sub_epi32(dot4(lv, av), *corr);
        else return dot4(lv, av);
    }

    // Tile32 is the single-token (decode) tile; several tokens go through gemm_q32's packed tiles.
    template <int R, int C, int CMAX>
    static void run(const uint8_t* w, size_t w_stride, int64_t cols, const TokenTile<CMAX>& tt, float* y, int64_t ldy) {
        static_assert(C == 1, "Tile32 computes one token; gemm_q32 packs several");
        run_one<R>(w, w_stride, cols, tt, y);
    }

    // One token (decode): each row's block is unpacked, multiplied and accumulated before the next
    // row's, so that nothing but the R accumulators lives across rows (no spills).
    template <int R, int CMAX>
    static void run_one(const uint8_t* w, size_t w_stride, int64_t cols, const TokenTile<CMAX>& tt, float* y) {
        const int64_t nb = cols / 32;
        const Act* ar = reinterpret_cast<const Act*>(tt.a[0]);
        __m256 acc[R];
        float summs[R];
        for (int i = 0; i < R; ++i) {
            acc[i] = _mm256_setzero_ps();
            summs[i] = 0.0f;
        }
        for (int64_t b = 0; b < nb; ++b) {
            const __m256i av = load256(ar[b].qs);
            const __m256 da = _mm256_broadcast_ss(tt.d[0] + b);
            const __m256i* corr = kBiased ? tt.c[0] + b : nullptr;
            for (int i = 0; i < R; ++i) {
                const Block& x = reinterpret_cast<const Block*>(w + i * w_stride)[b];
                _mm_prefetch(reinterpret_cast<const char*>(&x) + kDecodePrefetch, _MM_HINT_T0);
                const __m256i lv = L::levels(x);
                const __m256i ux = L::kSigned ? _mm256_sign_epi8(lv, lv) : lv;
                const __m256i l = lanes(lv, ux, av, corr);
                acc[i] = _mm256_fmadd_ps(_mm256_mul_ps(half_to_ps8(x.d), da), _mm256_cvtepi32_ps(l), acc[i]);
                if constexpr (L::kOffset) summs[i] = __builtin_fmaf(f16(x.m), tt.s[0][b], summs[i]);
            }
        }
        for (int i = 0; i < R; ++i) {
            float s = hsum_lanes(acc[i]);
            if constexpr (L::kOffset) s = s + summs[i];
            y[i] = s;
        }
    }
};

// Several tokens (prefill, batched decode): a tile of C tokens packed as [block][token], compactly, so
// that a tile of a 2048-wide row (8 tokens) stays in L1 while rows stream past it: the levels (32
// bytes), the bias-correction lanes (biased types only), the scales and, for Q4_1/Q5_1, the sums.
template <int C>
struct PackedTokens {
    __m256i* qs;    // [nb][C]
    __m256i* corr;  // [nb][C] or null
    float* d;       // [nb][C]
    float* s;       // [nb][C] or null
};

// Packs tokens t0 .. t0 + nt - 1 (the tile's last C - nt slots repeat token t0).
template <class L, int C>
void pack_tokens(const uint8_t* a, size_t a_stride, int64_t t0, int nt, int64_t nb, const PackedTokens<C>& p) {
    using Act = typename L::Act;
    for (int t = 0; t < C; ++t) {
        const Act* ab = reinterpret_cast<const Act*>(a + (t0 + (t < nt ? t : 0)) * a_stride);
        for (int64_t b = 0; b < nb; ++b) {
            const __m256i qs = load256(ab[b].qs);
            _mm256_store_si256(p.qs + b * C + t, qs);
            p.d[b * C + t] = f16(ab[b].d);
            if constexpr (L::kBias != 0)
                _mm256_store_si256(p.corr + b * C + t,
                                   _mm256_mullo_epi32(dot4(_mm256_set1_epi8(1), qs), _mm256_set1_epi32(L::kBias)));
            if constexpr (L::kOffset) p.s[b * C + t] = f16(ab[b].s);
        }
    }
}

// One weight row against C packed tokens: the row's block is unpacked once and used for all C, and
// the C products of scales d_w * d_a are one vector multiply (C == 8) whose lanes are then broadcast.
template <class L, int C>
inline void row_packed(const uint8_t* w, int64_t nb, const PackedTokens<C>& p, int nt, float* y, int64_t ldy) {
    using Block = typename L::Block;
    const Block* x = reinterpret_cast<const Block*>(w);
    __m256 acc[C];
    float summs[C];
    alignas(32) float dd[C < 8 ? 8 : C];
    for (int t = 0; t < C; ++t) {
        acc[t] = _mm256_setzero_ps();
        summs[t] = 0.0f;
    }
    const __m256i* qs = p.qs;
    const __m256i* corr = p.corr;
    const float* da = p.d;
    for (int64_t b = 0; b < nb; ++b, qs += C, da += C) {
        const __m256i lv = L::levels(x[b]);
        const float dw = f16(x[b].d);
        if constexpr (C == 8) {
            _mm256_store_ps(dd, _mm256_mul_ps(_mm256_set1_ps(dw), _mm256_load_ps(da)));
        } else {
            for (int t = 0; t < C; ++t) dd[t] = dw * da[t];
        }
        __m256i ux = lv;
        if constexpr (L::kSigned) ux = _mm256_sign_epi8(lv, lv);
        for (int t = 0; t < C; ++t) {
            __m256i l;
            if constexpr (L::kSigned) l = dot4(ux, _mm256_sign_epi8(_mm256_load_si256(qs + t), lv));
            else if constexpr (L::kBias != 0) l = _mm256_sub_epi32(dot4(lv, _mm256_load_si256(qs + t)), corr[t]);
            else l = dot4(lv, _mm256_load_si256(qs + t));
            acc[t] = _mm256_fmadd_ps(_mm256_broadcast_ss(dd + t), _mm256_cvtepi32_ps(l), acc[t]);
        }
        if constexpr (L::kBias != 0) corr += C;
        if constexpr (L::kOffset) {
            const float mw = f16(x[b].m);
            for (int t = 0; t < C; ++t) summs[t] = __builtin_fmaf(mw, p.s[b * C + t], summs[t]);
        }
    }
    for (int t = 0; t < C; ++t) {
        if (t >= nt) break;
        float r = hsum_lanes(acc[t]);
        if constexpr (L::kOffset) r = r + summs[t];
        y[t * ldy] = r;
    }
}

// The GemmFn of a 32-block type: one token goes through Tile32's row-by-row GEMV; several tokens are
// packed C at a time and swept by panels of rows that stay in L2.
template <class L, int C, int DecodeRows>
void gemm_q32(const MatRef& m, int64_t r0, int64_t r1, const void* av, size_t a_stride, int64_t n_tok, float* y,
              int64_t ldy) {
    const uint8_t* w = static_cast<const uint8_t*>(m.data);
    const uint8_t* a = static_cast<const uint8_t*>(av);
    if (n_tok == 1) {
        tiled_gemm<Tile32<L, DecodeRows>>(w, m.row_bytes, m.cols, r0, r1, a, a_stride, 1, y, ldy);
        return;
    }
    const int64_t nb = m.cols / 32;
    PackedTokens<C> p;
    p.qs = static_cast<__m256i*>(__builtin_alloca_with_align(sizeof(__m256i) * C * nb, 256));
    p.corr = L::kBias != 0 ? static_cast<__m256i*>(__builtin_alloca_with_align(sizeof(__m256i) * C * nb, 256)) : nullptr;
    p.d = static_cast<float*>(__builtin_alloca_with_align(sizeof(float) * C * nb, 256));
    p.s = L::kOffset ? static_cast<float*>(__builtin_alloca(sizeof(float) * C * nb)) : nullptr;
    int64_t panel = int64_t(256 * 1024 / m.row_bytes);
    if (panel < 1) panel = 1;
    for (int64_t p0 = r0; p0 < r1; p0 += panel) {
        const int64_t p1 = p0 + panel < r1 ? p0 + panel : r1;
        for (int64_t t = 0; t < n_tok; t += C) {
            const int nt = int(n_tok - t < C ? n_tok - t : C);
            pack_tokens<L, C>(a, a_stride, t, nt, nb, p);
            for (int64_t r = p0; r < p1; ++r) row_packed<L, C>(w + r * m.row_bytes, nb, p, nt, y + t * ldy + r, ldy);
        }
    }
}

}  // namespace kinglet::kernels::KINGLET_ISA
