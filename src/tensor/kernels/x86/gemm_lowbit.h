// Q2_K, Q3_K, IQ4_XS (against Q8_K activations) and IQ4_NL (against Q8_0): the low-bit types of the
// files llama.cpp's Q2_K, Q3_K_M and IQ4_XS recipes write. Same walk as the other x86 products
// (tiling.h: R rows x C tokens per tile, weights prefetched when streaming) and the scalar reference's
// order (tensor/dot_lowbit.cpp): per block and (row, token) the integer products land in 8 lanes of 4
// consecutive elements times the sub-block scale, then one fma(d, lane, acc) per lane; Q2_K first adds
// its min term, fma(-d_a * dmin, m[2l] bsums[2l] + m[2l+1] bsums[2l+1], acc), in the same lanes.
// Results are therefore bit-identical to the scalar family.
#pragma once
#include "tensor/kernels/x86/gemm_k.h"
#include "tensor/kernels/x86/gemm_q32.h"
#include "tensor/kernels/x86/tiling.h"
#include "tensor/mat_ref.h"
#include "tensor/quant_blocks.h"  // kIQ4Levels (data only: its inline functions are not called here)

namespace kinglet::kernels::KINGLET_ISA {

// Products of signed levels lv and signed activations av, pairs summed to 16 int16 (exact: |lv| <= 127,
// |av| <= 127), then pairs of those times the int16 scales sc into 8 int32 lanes.
inline __m256i scaled_lanes(__m256i lv, __m256i av, __m256i sc) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(lv, lv), _mm256_sign_epi8(av, lv)), sc);
}

// The IQ4 levels of 16 packed bytes (low nibbles are elements 0..15, high nibbles 16..31).
inline __m256i iq4_levels(const uint8_t* qs) {
    const __m256i table = _mm256_broadcastsi128_si256(load128(detail::kIQ4Levels));
    return _mm256_shuffle_epi8(table, nibbles_to_bytes(qs));
}

// The 16 signed scales of a Q3_K super-block (bias 32 removed): low nibbles from bytes 0-7 (scales 0-7)
// and their high nibbles (8-15), top two bits from bit pair j / 4 of byte 8 + j % 4 (bytes 8-11 in each
// dword, shifted right by 0, 2, 4, 6). All in vector registers: the scalar form's moves into a vector
// cost more than the arithmetic.
inline __m128i q3_K_scales(const uint8_t* s) {
    const __m128i m4 = _mm_set1_epi8(0x0F);
    const __m128i v = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(s));
    const __m128i nib = _mm_unpacklo_epi64(_mm_and_si128(v, m4), _mm_and_si128(_mm_srli_epi16(v, 4), m4));
    __m128i top = _mm_srlv_epi32(_mm_set1_epi32(int(load_u32(s + 8))), _mm_set_epi32(6, 4, 2, 0));
    top = _mm_slli_epi16(_mm_and_si128(top, _mm_set1_epi8(3)), 4);
    return _mm_sub_epi8(_mm_or_si128(nib, top), _mm_set1_epi8(32));
}

// The 8 signed scales of an IQ4_XS super-block (bias 32 removed) as int16 words 0..7 of both halves:
// nibble g of scales_l and bit pair g of scales_h spread to byte g with shifts and masks (no pdep, which
// is microcoded on Zen 1/2).
inline __m256i iq4_xs_scales16(const BlockIQ4_XS& x) {
    uint64_t l = load_u32(x.scales_l);
    l = (l | (l << 16)) & 0x0000FFFF0000FFFFull;
    l = (l | (l << 8)) & 0x00FF00FF00FF00FFull;
    l = (l | (l << 4)) & 0x0F0F0F0F0F0F0F0Full;
    uint64_t h = x.scales_h;
    h = (h | (h << 24)) & 0x000000FF000000FFull;
    h = (h | (h << 12)) & 0x000F000F000F000Full;
    h = (h | (h << 6)) & 0x0303030303030303ull;
    const __m128i s8 = _mm_sub_epi8(_mm_cvtsi64_si128(static_cast<long long>(l | (h << 4))), _mm_set1_epi8(32));
    return _mm256_broadcastsi128_si256(_mm_cvtepi8_epi16(s8));
}

// The int16 scales of group g (0..7, 32 elements) for 16-element sub-blocks 2g (low half) and 2g+1
// (high half), from the 16 scales spread as sc_lo (0..7 in both halves) and sc_hi (8..15).
inline __m256i group_scales(__m256i sc_lo, __m256i sc_hi, int g) {
    return _mm256_shuffle_epi8(g < 4 ? sc_lo : sc_hi, word_mask((2 * g) % 8, (2 * g + 1) % 8));
}

// Tiles over 256-element super-blocks with Q8_K activations. Kind: 2 = Q2_K, 3 = Q3_K.
template <int Kind, int Rows, int Cols, int DecodeRows>
struct TileLowK {
    static constexpr int kRows = Rows, kCols = Cols, kDecodeRows = DecodeRows;
    static constexpr int kBlock = QK_K, kScales = 0;
    static constexpr bool kCorr = false;
    static constexpr size_t kBytes = Kind == 2 ? sizeof(BlockQ2_K) : sizeof(BlockQ3_K);
    static void scales(const uint8_t*, int64_t, float*, float*, __m256i*) {}

    template <int R, int C, int CMAX>
    static void run(const uint8_t* w, size_t w_stride, int64_t cols, const TokenTile<CMAX>& tt, float* y,
                    int64_t ldy) {
        const int64_t nb = cols / QK_K;
        const __m256i m3 = _mm256_set1_epi8(3);
        __m256 acc[R][C];
        for (int i = 0; i < R; ++i)
            for (int t = 0; t < C; ++t) acc[i][t] = _mm256_setzero_ps();
        for (int64_t b = 0; b < nb; ++b) {
            const BlockQ8_K* yb[C];
            for (int t = 0; t < C; ++t) yb[t] = reinterpret_cast<const BlockQ8_K*>(tt.a[t]) + b;
            for (int i = 0; i < R; ++i) {
                const uint8_t* xb = w + i * w_stride + b * kBytes;
                stream_prefetch<C>(tt.stream, xb + kDecodePrefetch, kBytes);
                __m256i sumi[C];
                for (int t = 0; t < C; ++t) sumi[t] = _mm256_setzero_si256();
                float xd;
                if constexpr (Kind == 2) {
                    const auto& x = *reinterpret_cast<const BlockQ2_K*>(xb);
                    const __m128i sb = load128(x.scales);
                    const __m128i sc8 = _mm_and_si128(sb, _mm_set1_epi8(0x0F));
                    const __m256i mins = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(sb, 4), _mm_set1_epi8(0x0F)));
                    const float xmin = f16(x.dmin);
                    for (int t = 0; t < C; ++t) {
                        const __m256i prod = _mm256_madd_epi16(mins, load256(yb[t]->bsums));
                        acc[i][t] = _mm256_fmadd_ps(_mm256_set1_ps(-yb[t]->d * xmin), _mm256_cvtepi32_ps(prod), acc[i][t]);
                    }
                    const __m256i sc_lo = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(sc8));
                    const __m256i sc_hi = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(_mm_unpackhi_epi64(sc8, sc8)));
                    for (int h = 0; h < 2; ++h) {
                        const __m256i q = load256(x.qs + 32 * h);
                        for (int j = 0; j < 4; ++j) {
                            const int g = 4 * h + j;
                            const __m256i lv = _mm256_and_si256(_mm256_srli_epi16(q, 2 * j), m3);
                            const __m256i sc = group_scales(sc_lo, sc_hi, g);
                            for (int t = 0; t < C; ++t) {
                                const __m256i p = _mm256_maddubs_epi16(lv, load256(yb[t]->qs + 32 * g));
                                sumi[t] = _mm256_add_epi32(sumi[t], _mm256_madd_epi16(p, sc));
                            }
                        }
                    }
                    xd = f16(x.d);
                } else {
                    const auto& x = *reinterpret_cast<const BlockQ3_K*>(xb);
                    const __m128i sc8 = q3_K_scales(x.scales);
                    const __m256i sc_lo = _mm256_broadcastsi128_si256(_mm_cvtepi8_epi16(sc8));
                    const __m256i sc_hi = _mm256_broadcastsi128_si256(_mm_cvtepi8_epi16(_mm_unpackhi_epi64(sc8, sc8)));
                    const __m256i hm = load256(x.hmask);
                    for (int h = 0; h < 2; ++h) {
                        const __m256i q = load256(x.qs + 32 * h);
                        for (int j = 0; j < 4; ++j) {
                            const int g = 4 * h + j;
                            const __m256i bit = _mm256_set1_epi8(char(1 << g));
                            const __m256i high = _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(hm, bit), bit),
                                                                  _mm256_set1_epi8(4));
                            const __m256i pair = _mm256_and_si256(_mm256_srli_epi16(q, 2 * j), m3);
                            const __m256i lv = _mm256_sub_epi8(_mm256_or_si256(pair, high), _mm256_set1_epi8(4));
                            const __m256i sc = group_scales(sc_lo, sc_hi, g);
                            for (int t = 0; t < C; ++t)
                                sumi[t] = _mm256_add_epi32(sumi[t], scaled_lanes(lv, load256(yb[t]->qs + 32 * g), sc));
                        }
                    }
                    xd = f16(x.d);
                }
                for (int t = 0; t < C; ++t) {
                    // d_a * d_w as the reference.
                    const float d = yb[t]->d * xd;
                    acc[i][t] = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi[t]), acc[i][t]);
                }
            }
        }
        for (int i = 0; i < R; ++i)
            for (int t = 0; t < C; ++t) y[t * ldy + i] = hsum_lanes(acc[i][t]);
    }
};

// IQ4_XS, several tokens (prefill, batched decode). The 32 packed bytes of groups 2p and 2p+1 give, per
// nibble half, elements 0-15 (low nibbles) and 16-31 (high) of both groups: two table lookups and two
// lane permutes per pair of groups yield both groups' levels in element order. The scales of a
// super-block are unpacked once, in vector registers, and broadcast per group with one shuffle. Per
// (row, token, group) what remains is the product itself: sign, multiply-add of bytes, multiply-add by
// the scale, add into the token's lanes. The empty asm after each add pins that order: without it GCC
// re-associates the 8 groups' sums of a token into a tree, keeps every product of the super-block alive
// and spills them all (a store and a load per product). Lanes and float order are the
// reference's, so results are bit-identical.
template <int Rows, int Cols>
struct TileIQ4XS {
    static constexpr int kRows = Rows, kCols = Cols, kDecodeRows = 1;
    static constexpr int kBlock = QK_K, kScales = 0;
    static constexpr bool kCorr = false;
    static void scales(const uint8_t*, int64_t, float*, float*, __m256i*) {}

    template <int R, int C, int CMAX>
    static void run(const uint8_t* w, size_t w_stride, int64_t cols, const TokenTile<CMAX>& tt, float* y,
                    int64_t ldy) {
        const int64_t nb = cols / QK_K;
        const __m256i table = _mm256_broadcastsi128_si256(load128(detail::kIQ4Levels));
        const __m256i m4 = _mm256_set1_epi8(0x0F);
        __m256 acc[R][C];
        for (int i = 0; i < R; ++i)
            for (int t = 0; t < C; ++t) acc[i][t] = _mm256_setzero_ps();
        for (int64_t b = 0; b < nb; ++b) {
            const BlockQ8_K* yb[C];
            for (int t = 0; t < C; ++t) yb[t] = reinterpret_cast<const BlockQ8_K*>(tt.a[t]) + b;
            for (int i = 0; i < R; ++i) {
                const auto& x = *reinterpret_cast<const BlockIQ4_XS*>(w + i * w_stride + b * sizeof(BlockIQ4_XS));
                stream_prefetch<C>(tt.stream, reinterpret_cast<const uint8_t*>(&x) + kDecodePrefetch,
                                   sizeof(BlockIQ4_XS));
                const __m256i sc16 = iq4_xs_scales16(x);
                __m256i sumi[C];
                for (int t = 0; t < C; ++t) sumi[t] = _mm256_setzero_si256();
#pragma GCC unroll 4
                for (int p = 0; p < 4; ++p) {
                    const __m256i q = load256(x.qs + 32 * p);
                    const __m256i vl = _mm256_shuffle_epi8(table, _mm256_and_si256(q, m4));
                    const __m256i vh = _mm256_shuffle_epi8(table, _mm256_and_si256(_mm256_srli_epi16(q, 4), m4));
                    for (int h = 0; h < 2; ++h) {
                        const int g = 2 * p + h;
                        const __m256i lv = h == 0 ? _mm256_permute2x128_si256(vl, vh, 0x20)
                                                  : _mm256_permute2x128_si256(vl, vh, 0x31);
                        const __m256i ulv = _mm256_sign_epi8(lv, lv);
                        const __m256i sc = _mm256_shuffle_epi8(sc16, word_mask(g, g));
                        for (int t = 0; t < C; ++t) {
                            const __m256i s = _mm256_sign_epi8(load256(yb[t]->qs + 32 * g), lv);
                            sumi[t] = _mm256_add_epi32(sumi[t], _mm256_madd_epi16(_mm256_maddubs_epi16(ulv, s), sc));
                            asm("" : "+x"(sumi[t]));
                        }
                    }
                }
                const float xd = f16(x.d);
                for (int t = 0; t < C; ++t) {
                    const __m256 d = _mm256_set1_ps(xd * yb[t]->d);
                    acc[i][t] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(sumi[t]), acc[i][t]);
                }
            }
        }
        for (int i = 0; i < R; ++i)
            for (int t = 0; t < C; ++t) y[t * ldy + i] = hsum_lanes(acc[i][t]);
    }
};

// IQ4_NL against Q8_0, blocks of 32: Q8_0's walk (gemm_q32.h) with the levels looked up in kIQ4Levels;
// signed levels multiply through the sign trick, d_w * d_a per block as the reference.
struct IQ4NLLevels {
    using Block = BlockIQ4_NL;
    using Act = BlockQ8_0;
    static constexpr bool kSigned = true, kOffset = false, kBlockSum = false;
    static constexpr int kBias = 0;
    static __m256i levels(const Block& b) { return iq4_levels(b.qs); }
};

// Single-token products (decode) of Q3_K and IQ4_XS. A GEMV streams its weights from memory, so the
// work per super-block must stay below the time its bytes take to arrive; the tiles above, run with one
// token, spend ~15 vector instructions per group of 32 on Q3_K and unpack every IQ4_XS group's levels
// for a single product, which makes both compute-bound. These paths move what depends only on the token out of the
// row loop (into `prep`, once per call) and unpack the scales once per super-block. The integer lanes
// are the same exact sums as the reference's, so results stay bit-identical.

// IQ4_XS: 32 bytes of packed nibbles hold sub-blocks 2p (bytes 0-15) and 2p+1 (16-31), so the low
// nibbles are elements 0-15 of both and the high nibbles elements 16-31. `prep` reorders the token's
// activations the same way (per pair of sub-blocks: their first halves, then their second halves), so one
// table lookup per 32 nibbles serves two sub-blocks. The low nibbles' int32 lanes 0-3 are reference lanes
// 0-3 of sub-block 2p and lanes 4-7 the same lanes of 2p+1 (the high nibbles: reference lanes 4-7); the
// two halves are added once per super-block.
struct GemvIQ4XS {
    using Block = BlockIQ4_XS;
    static constexpr size_t kPrep = 8;  // __m256i per super-block
    static void prep(const BlockQ8_K& a, __m256i* out) {
        for (int p = 0; p < 4; ++p) {
            const __m256i g0 = load256(a.qs + 64 * p), g1 = load256(a.qs + 64 * p + 32);
            _mm256_store_si256(out + 2 * p, _mm256_permute2x128_si256(g0, g1, 0x20));
            _mm256_store_si256(out + 2 * p + 1, _mm256_permute2x128_si256(g0, g1, 0x31));
        }
    }
    static __m256i lanes(const Block& x, const BlockQ8_K&, const __m256i* pa) {
        const __m256i table = _mm256_broadcastsi128_si256(load128(detail::kIQ4Levels));
        const __m256i m4 = _mm256_set1_epi8(0x0F);
        const __m256i sc16 = iq4_xs_scales16(x);
        __m256i sum_lo = _mm256_setzero_si256(), sum_hi = _mm256_setzero_si256();
        for (int p = 0; p < 4; ++p) {
            const __m256i q = load256(x.qs + 32 * p);
            const __m256i vl = _mm256_shuffle_epi8(table, _mm256_and_si256(q, m4));
            const __m256i vh = _mm256_shuffle_epi8(table, _mm256_and_si256(_mm256_srli_epi16(q, 4), m4));
            const __m256i sc = _mm256_shuffle_epi8(sc16, word_mask(2 * p, 2 * p + 1));
            sum_lo = _mm256_add_epi32(sum_lo, scaled_lanes(vl, _mm256_load_si256(pa + 2 * p), sc));
            sum_hi = _mm256_add_epi32(sum_hi, scaled_lanes(vh, _mm256_load_si256(pa + 2 * p + 1), sc));
        }
        return _mm256_add_epi32(_mm256_permute2x128_si256(sum_lo, sum_hi, 0x20),
                                _mm256_permute2x128_si256(sum_lo, sum_hi, 0x31));
    }
    static float scale(const Block& x, const BlockQ8_K& a) { return f16(x.d) * a.d; }  // the reference's order
};

// Q3_K: the level is u - 4 with u = pair | high << 2 in 0..7, so one unsigned-by-signed multiply gives
// the pair sums of u * a, and `prep` holds the token's 4 * (pair sums of a) per group of 32 to subtract
// (exact in int16: |7 * 127 * 2| + |4 * 127 * 2| < 2^15). The high bit of group g is bit g of hmask,
// shifted to bit 2.
struct GemvQ3K {
    using Block = BlockQ3_K;
    static constexpr size_t kPrep = 8;
    static void prep(const BlockQ8_K& a, __m256i* out) {
        for (int g = 0; g < 8; ++g)
            _mm256_store_si256(out + g, _mm256_maddubs_epi16(_mm256_set1_epi8(4), load256(a.qs + 32 * g)));
    }
    template <int G>
    static __m256i high4(__m256i hm) {
        if constexpr (G < 2) return _mm256_and_si256(_mm256_slli_epi16(hm, 2 - G), _mm256_set1_epi8(4));
        else if constexpr (G == 2) return _mm256_and_si256(hm, _mm256_set1_epi8(4));
        else return _mm256_and_si256(_mm256_srli_epi16(hm, G - 2), _mm256_set1_epi8(4));
    }
    template <int G>
    static __m256i group(__m256i q, __m256i hm, __m256i sc_lo, __m256i sc_hi, const int8_t* a, const __m256i* pa) {
        constexpr int j = G % 4;
        const __m256i m3 = _mm256_set1_epi8(3);
        const __m256i pair = j == 0 ? _mm256_and_si256(q, m3) : _mm256_and_si256(_mm256_srli_epi16(q, 2 * j), m3);
        const __m256i u = _mm256_or_si256(pair, high4<G>(hm));
        const __m256i p = _mm256_sub_epi16(_mm256_maddubs_epi16(u, load256(a + 32 * G)), _mm256_load_si256(pa + G));
        return _mm256_madd_epi16(p, group_scales(sc_lo, sc_hi, G));
    }
    static __m256i lanes(const Block& x, const BlockQ8_K& a, const __m256i* pa) {
        const __m128i sc8 = q3_K_scales(x.scales);
        const __m256i sc_lo = _mm256_broadcastsi128_si256(_mm_cvtepi8_epi16(sc8));
        const __m256i sc_hi = _mm256_broadcastsi128_si256(_mm_cvtepi8_epi16(_mm_unpackhi_epi64(sc8, sc8)));
        const __m256i hm = load256(x.hmask), q0 = load256(x.qs), q1 = load256(x.qs + 32);
        __m256i s0 = _mm256_add_epi32(group<0>(q0, hm, sc_lo, sc_hi, a.qs, pa), group<1>(q0, hm, sc_lo, sc_hi, a.qs, pa));
        __m256i s1 = _mm256_add_epi32(group<2>(q0, hm, sc_lo, sc_hi, a.qs, pa), group<3>(q0, hm, sc_lo, sc_hi, a.qs, pa));
        s0 = _mm256_add_epi32(s0, _mm256_add_epi32(group<4>(q1, hm, sc_lo, sc_hi, a.qs, pa),
                                                   group<5>(q1, hm, sc_lo, sc_hi, a.qs, pa)));
        s1 = _mm256_add_epi32(s1, _mm256_add_epi32(group<6>(q1, hm, sc_lo, sc_hi, a.qs, pa),
                                                   group<7>(q1, hm, sc_lo, sc_hi, a.qs, pa)));
        return _mm256_add_epi32(s0, s1);
    }
    static float scale(const Block& x, const BlockQ8_K& a) { return a.d * f16(x.d); }  // the reference's order
};

// Rows [r0, r1) of a single-token product with G's per-super-block lanes: one row after another,
// prefetched kDecodePrefetch ahead where kGemvPrefetch, one fma(d, lanes, acc) per super-block as the
// reference.
template <class G>
void gemv_lowk(const MatRef& m, int64_t r0, int64_t r1, const void* av, float* y) {
    using Block = typename G::Block;
    const int64_t nb = m.cols / QK_K;
    const BlockQ8_K* a = static_cast<const BlockQ8_K*>(av);
    __m256i* pa = static_cast<__m256i*>(__builtin_alloca_with_align(sizeof(__m256i) * G::kPrep * nb, 256));
    for (int64_t b = 0; b < nb; ++b) G::prep(a[b], pa + b * G::kPrep);
    const uint8_t* w = static_cast<const uint8_t*>(m.data);
    for (int64_t r = r0; r < r1; ++r) {
        const Block* x = reinterpret_cast<const Block*>(w + r * m.row_bytes);
        __m256 acc = _mm256_setzero_ps();
        for (int64_t b = 0; b < nb; ++b) {
            gemv_prefetch(reinterpret_cast<const uint8_t*>(x + b) + kDecodePrefetch, sizeof(Block));
            const __m256i l = G::lanes(x[b], a[b], pa + b * G::kPrep);
            acc = _mm256_fmadd_ps(_mm256_set1_ps(G::scale(x[b], a[b])), _mm256_cvtepi32_ps(l), acc);
        }
        y[r] = hsum_lanes(acc);
    }
}

}  // namespace kinglet::kernels::KINGLET_ISA
