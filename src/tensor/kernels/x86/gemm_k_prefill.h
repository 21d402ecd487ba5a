// Prefill (more than kStreamTokens tokens) of Q4_K, Q5_K and Q6_K against Q8_K activations. A tile of 8
// tokens' activations is first rearranged per super-block (PackedQ8K): every 32-element group of the 8
// tokens in one aligned run, the per-32 activation sums and the token scales beside them. The kernel then
// computes one weight row against the 8 tokens with aligned loads from one contiguous stream, and what
// does not depend on the row (the bsums pairs, -d per token) is done once per tile, not once per row.
// Every (row, token) result is accumulated exactly as in TileK4 / TileQ6K and the scalar reference
// (tensor/dot.cpp): the same integer super-block totals, one fma per super-block, the same min-term
// partial sums, so results are bit-identical.
#pragma once
#include "tensor/kernels/x86/gemm_k.h"

namespace kinglet::kernels::KINGLET_ISA {

constexpr int kPackTokens = 8;

// One super-block of kPackTokens tokens.
struct alignas(64) PackedQ8K {
    int8_t qs[4][kPackTokens][64];     // groups 2 p, 2 p + 1 (elements 64 p .. 64 p + 63) of token t
    int16_t sums[kPackTokens][8];      // token t's activation sums per 32 (from its bsums)
    float neg_d[kPackTokens / 2][8];   // -d of tokens 2 p (lanes 0-3) and 2 p + 1 (lanes 4-7)
    float d[kPackTokens];
};
static_assert(sizeof(PackedQ8K) % 64 == 0, "PackedQ8K keeps every pair of groups aligned");

// Packs nt (1..kPackTokens) activation rows starting at a; the unused token slots repeat the first row
// (their results are never stored).
inline void pack_q8_K(const uint8_t* a, size_t a_stride, int nt, int64_t nb, PackedQ8K* p) {
    for (int t = 0; t < kPackTokens; ++t) {
        const auto* row = reinterpret_cast<const BlockQ8_K*>(a + size_t(t < nt ? t : 0) * a_stride);
        for (int64_t b = 0; b < nb; ++b) {
            const BlockQ8_K& y = row[b];
            PackedQ8K& q = p[b];
            for (int g = 0; g < 8; ++g)
                _mm256_store_si256(reinterpret_cast<__m256i*>(q.qs[g / 2][t] + 32 * (g % 2)), load256(y.qs + 32 * g));
            const __m256i bs = load256(y.bsums);
            _mm_store_si128(reinterpret_cast<__m128i*>(q.sums[t]),
                            _mm_hadd_epi16(_mm256_castsi256_si128(bs), _mm256_extracti128_si256(bs, 1)));
            q.d[t] = y.d;
            for (int k = 0; k < 4; ++k) q.neg_d[t / 2][4 * (t % 2) + k] = -y.d;
        }
    }
}

// Makes v opaque to the optimizer at this point. GCC otherwise regroups a super-block's chain of integer
// additions into trees, keeps all 64 products live and spills most of them to the stack.
inline void chain(__m256i& v) { __asm__("" : "+x"(v)); }

inline __m256i packed_group(const PackedQ8K& q, int g, int t) {
    return _mm256_load_si256(reinterpret_cast<const __m256i*>(q.qs[g / 2][t] + 32 * (g % 2)));
}

// Spreads int16 word k of each 128-bit half of v over that half.
inline __m256i spread_word(__m256i v, int k) {
    return _mm256_shuffle_epi8(v, _mm256_set1_epi16(short(0x0100 + 0x0202 * k)));
}

// One Q4_K (kFive false) or Q5_K row against the first C tokens of a packed tile.
template <bool kFive>
struct PrefillK4 {
    static constexpr size_t kBytes = kFive ? sizeof(BlockQ5_K) : sizeof(BlockQ4_K);

    template <int C>
    static void run(const uint8_t* w, int64_t nb, const PackedQ8K* p, float* y, int64_t ldy) {
        constexpr int P = (C + 1) / 2;  // token pairs of the min term
        __m256 acc = _mm256_setzero_ps();  // lane t: token t
        __m256 acc_m[P];  // Q4_K's 4 partial min sums (Q5_K's one in lane 0) per token, 2 tokens
        for (int i = 0; i < P; ++i) acc_m[i] = _mm256_setzero_ps();
#if defined(__AVX512F__)
        constexpr int Q = (C + 3) / 4;  // Q4_K: the min sums of tokens 4 i .. 4 i + 3 (lanes 4 (t % 4) ..)
        __m512 acc_mz[Q];
        for (int i = 0; i < Q; ++i) acc_mz[i] = _mm512_setzero_ps();
#endif
        for (int64_t b = 0; b < nb; ++b) {
            const uint8_t* xb = w + b * kBytes;
            const PackedQ8K& q = p[b];
            uint16_t xd, xdmin;
            std::memcpy(&xd, xb, 2);
            std::memcpy(&xdmin, xb + 2, 2);
            const uint8_t* qh = xb + 16;  // Q5_K only
            const uint8_t* qs = xb + (kFive ? 16 + 32 : 16);
            const __m128i sm = k4_scales_mins(xb + 4);
            const __m256i sc16 = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(sm));
            __m256i sumi[C];
            for (int t = 0; t < C; ++t) sumi[t] = _mm256_setzero_si256();
#pragma GCC unroll 4
            for (int j = 0; j < 4; ++j) {
                const __m256i v = load256(qs + 32 * j), m4 = _mm256_set1_epi8(0x0F);
                __m256i lo = _mm256_and_si256(v, m4);
                __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
                if constexpr (kFive) {
                    const __m256i hbits = load256(qh), h16 = _mm256_set1_epi8(0x10);
                    const __m256i bl = _mm256_set1_epi8(char(1 << (2 * j))), bh = _mm256_set1_epi8(char(2 << (2 * j)));
                    lo = _mm256_or_si256(lo, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(hbits, bl), bl), h16));
                    hi = _mm256_or_si256(hi, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(hbits, bh), bh), h16));
                }
                const __m256i s_lo = spread_word(sc16, 2 * j), s_hi = spread_word(sc16, 2 * j + 1);
#pragma GCC unroll 8
                for (int t = 0; t < C; ++t) {
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
                    // vpdpwssd: the scale multiply and the accumulation in one instruction.
                    sumi[t] = _mm256_dpwssd_epi32(sumi[t], _mm256_maddubs_epi16(lo, packed_group(q, 2 * j, t)), s_lo);
                    sumi[t] = _mm256_dpwssd_epi32(sumi[t], _mm256_maddubs_epi16(hi, packed_group(q, 2 * j + 1, t)), s_hi);
#else
                    const __m256i p_lo = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, packed_group(q, 2 * j, t)), s_lo);
                    const __m256i p_hi =
                        _mm256_madd_epi16(_mm256_maddubs_epi16(hi, packed_group(q, 2 * j + 1, t)), s_hi);
                    sumi[t] = _mm256_add_epi32(sumi[t], _mm256_add_epi32(p_lo, p_hi));
#endif
                    chain(sumi[t]);
                }
            }
            acc = add_totals<C>(acc, q.d, f16(xd), sumi);
            // Min term, two tokens per vector: mins . sums per pair of sub-blocks, times -d_t * dmin.
#if defined(__AVX512F__)
            if constexpr (!kFive) {  // four tokens per 512-bit vector
                const __m512i mins = _mm512_broadcast_i32x4(_mm_cvtepu8_epi16(_mm_unpackhi_epi64(sm, sm)));
                const __m512 xm = _mm512_set1_ps(f16(xdmin));
#pragma GCC unroll 2
                for (int i = 0; i < Q; ++i) {
                    const __m512i prod = _mm512_madd_epi16(mins, _mm512_load_si512(q.sums[4 * i]));
                    acc_mz[i] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_load_ps(q.neg_d[2 * i]), xm),
                                                _mm512_cvtepi32_ps(prod), acc_mz[i]);
                }
                continue;
            }
#endif
            const __m256i mins = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(_mm_unpackhi_epi64(sm, sm)));
            const __m256 xm = _mm256_set1_ps(f16(xdmin));
#pragma GCC unroll 4
            for (int i = 0; i < P; ++i) {
                __m256i prod = _mm256_madd_epi16(mins, _mm256_load_si256(reinterpret_cast<const __m256i*>(q.sums[2 * i])));
                if constexpr (kFive) {  // one sum per token, in lanes 0 and 4
                    prod = _mm256_hadd_epi32(prod, prod);
                    prod = _mm256_hadd_epi32(prod, prod);
                }
                acc_m[i] = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_load_ps(q.neg_d[i]), xm), _mm256_cvtepi32_ps(prod),
                                           acc_m[i]);
            }
        }
#if defined(__AVX512F__)
        if constexpr (!kFive) {
            alignas(64) float mz[Q][16];
            for (int i = 0; i < Q; ++i) _mm512_store_ps(mz[i], acc_mz[i]);
            for (int t = 0; t < C; ++t) acc_m[t / 2] = _mm256_load_ps(&mz[t / 4][8 * ((t / 2) % 2)]);
        }
#endif
        alignas(32) float out[8];
        _mm256_store_ps(out, acc);
        for (int t = 0; t < C; ++t) {
            const __m128 m4 = t % 2 ? _mm256_extractf128_ps(acc_m[t / 2], 1) : _mm256_castps256_ps128(acc_m[t / 2]);
            float m;
            if constexpr (kFive) {
                m = _mm_cvtss_f32(m4);
            } else {
                __m128 v = _mm_add_ps(m4, _mm_movehl_ps(m4, m4));  // m0+m2, m1+m3
                v = _mm_add_ss(v, _mm_movehdup_ps(v));
                m = _mm_cvtss_f32(v);
            }
            y[t * ldy] = out[t] + m;
        }
    }
};

// One Q6_K row against the first C tokens of a packed tile.
struct PrefillQ6K {
    static constexpr size_t kBytes = sizeof(BlockQ6_K);

    template <int C>
    static void run(const uint8_t* w, int64_t nb, const PackedQ8K* p, float* y, int64_t ldy) {
        __m256 acc = _mm256_setzero_ps();  // lane t: token t
        for (int64_t b = 0; b < nb; ++b) {
            const auto& x = *reinterpret_cast<const BlockQ6_K*>(w + b * kBytes);
            const PackedQ8K& q = p[b];
            const __m128i sc8 = load128(x.scales);
            const __m256i sc_lo = _mm256_broadcastsi128_si256(_mm_cvtepi8_epi16(sc8));
            const __m256i sc_hi = _mm256_broadcastsi128_si256(_mm_cvtepi8_epi16(_mm_unpackhi_epi64(sc8, sc8)));
            __m256i sumi[C];
            for (int t = 0; t < C; ++t) sumi[t] = _mm256_setzero_si256();
#pragma GCC unroll 8
            for (int sg = 0; sg < 8; ++sg) {  // group of 32: scales 2 sg, 2 sg + 1
                const int h = sg / 4, g = sg % 4;
                const __m256i m4 = _mm256_set1_epi8(0x0F), m2 = _mm256_set1_epi8(0x30);
                const __m256i ql = load256(x.ql + 64 * h + 32 * (g & 1)), qh = load256(x.qh + 32 * h);
                const __m256i low = g < 2 ? _mm256_and_si256(ql, m4) : _mm256_and_si256(_mm256_srli_epi16(ql, 4), m4);
                const __m256i high = g == 0   ? _mm256_slli_epi16(qh, 4)
                                     : g == 1 ? _mm256_slli_epi16(qh, 2)
                                     : g == 2 ? qh
                                              : _mm256_srli_epi16(qh, 2);
                const __m256i s = _mm256_sub_epi8(_mm256_or_si256(low, _mm256_and_si256(high, m2)), _mm256_set1_epi8(32));
                const __m256i us = _mm256_sign_epi8(s, s);
                const __m256i sc = sg < 4 ? sc_lo : sc_hi;
                const __m256i scale =
                    _mm256_shuffle_epi8(sc, word_mask((2 * sg) % 8, (2 * sg + 1) % 8));
#pragma GCC unroll 8
                for (int t = 0; t < C; ++t) {
                    const __m256i pr = _mm256_maddubs_epi16(us, _mm256_sign_epi8(packed_group(q, sg, t), s));
                    sumi[t] = _mm256_add_epi32(sumi[t], _mm256_madd_epi16(pr, scale));
                    chain(sumi[t]);
                }
            }
            acc = add_totals<C>(acc, q.d, f16(x.d), sumi);
        }
        alignas(32) float out[8];
        _mm256_store_ps(out, acc);
        for (int t = 0; t < C; ++t) y[t * ldy] = out[t];
    }
};

// Rows r0..r1 against the nt (= C, or fewer: the recursion finds it) tokens of a packed tile.
template <class Kernel, int C>
void prefill_rows(const uint8_t* w, size_t w_stride, int64_t nb, int64_t r0, int64_t r1, const PackedQ8K* p, int nt,
                  float* y, int64_t ldy) {
    if (nt == C) {
        for (int64_t r = r0; r < r1; ++r) Kernel::template run<C>(w + r * w_stride, nb, p, y + r, ldy);
    } else if constexpr (C > 1) {
        prefill_rows<Kernel, C - 1>(w, w_stride, nb, r0, r1, p, nt, y, ldy);
    }
}

// The largest packed tile kept on the stack (112 super-blocks: rows of 28672 elements); wider rows take
// the unpacked tiles.
constexpr int64_t kMaxPackedBlocks = 112;

// Rows r0..r1 of w against n_tok (> kStreamTokens) activation rows: panels of rows that stay in L2, each
// swept once per packed tile of 8 tokens (as tiled_gemm does).
template <class Kernel>
void prefill_k(const MatRef& w, int64_t r0, int64_t r1, const void* a, size_t a_stride, int64_t n_tok, float* y,
               int64_t ldy) {
    const int64_t nb = w.cols / QK_K;
    auto* p = static_cast<PackedQ8K*>(__builtin_alloca_with_align(sizeof(PackedQ8K) * size_t(nb), 8 * alignof(PackedQ8K)));
    const auto* wd = static_cast<const uint8_t*>(w.data);
    const auto* ad = static_cast<const uint8_t*>(a);
    int64_t panel = int64_t(192 * 1024 / (w.row_bytes ? w.row_bytes : 1));
    if (panel < 1) panel = 1;
    for (int64_t p0 = r0; p0 < r1; p0 += panel) {
        const int64_t p1 = p0 + panel < r1 ? p0 + panel : r1;
        for (int64_t t = 0; t < n_tok; t += kPackTokens) {
            const int nt = int(n_tok - t < kPackTokens ? n_tok - t : kPackTokens);
            pack_q8_K(ad + size_t(t) * a_stride, a_stride, nt, nb, p);
            prefill_rows<Kernel, kPackTokens>(wd, w.row_bytes, nb, p0, p1, p, nt, y + t * ldy, ldy);
        }
    }
}

}  // namespace kinglet::kernels::KINGLET_ISA
