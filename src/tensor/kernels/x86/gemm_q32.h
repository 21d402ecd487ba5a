// Q4_0, Q5_0, Q8_0 (against Q8_0 activations) and Q4_1, Q5_1 (against Q8_1): blocks of 32. Per block
// and (row, token) pair the integer products land in 8 lanes of 4 consecutive elements. In the lane order
// (IQ4_NL, gemm_lowbit.h, uses these tiles) each lane accumulates fma(d_w * d_a, lane, acc) — the order of
// its scalar reference, so results are bit-exact. Q8_0, Q4_0, Q5_0, Q4_1 and Q5_1 (kBlockSum) sum the 8 lanes
// of a block as integers (Q4_0/Q5_0: less their bias correction; Q4_1/Q5_1 add their offset term in a float
// chain of its own), and block b accumulates fma(d_w * d_a, sum, acc) into lane b % 8, as their reference
// does (tensor/dot.cpp's dot_32_block_sums); the loader groups their matrices by 16 rows (gemm_rows16.h)
// where the kernel family has grouped kernels, and these kernels compute the rest (rows that do not come in
// 16s, other families).
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
    static constexpr bool kSigned = true, kOffset = false, kBlockSum = true;
    static constexpr int kBias = 0;
    static __m256i levels(const Block& b) { return load256(b.qs); }
};
struct Q4_0Levels {
    using Block = BlockQ4_0;
    using Act = BlockQ8_0;
    static constexpr bool kSigned = false, kOffset = false, kBlockSum = true;
    static constexpr int kBias = 8;
    static __m256i levels(const Block& b) { return nibbles_to_bytes(b.qs); }
};
struct Q5_0Levels {
    using Block = BlockQ5_0;
    using Act = BlockQ8_0;
    static constexpr bool kSigned = false, kOffset = false, kBlockSum = true;
    static constexpr int kBias = 16;
    static __m256i levels(const Block& b) {
        const __m256i hi = _mm256_and_si256(bits_to_bytes(load_u32(b.qh)), _mm256_set1_epi8(0x10));
        return _mm256_or_si256(nibbles_to_bytes(b.qs), hi);
    }
};
struct Q4_1Levels {
    using Block = BlockQ4_1;
    using Act = BlockQ8_1;
    static constexpr bool kSigned = false, kOffset = true, kBlockSum = true;
    static constexpr int kBias = 0;
    static __m256i levels(const Block& b) { return nibbles_to_bytes(b.qs); }
};
struct Q5_1Levels {
    using Block = BlockQ5_1;
    using Act = BlockQ8_1;
    static constexpr bool kSigned = false, kOffset = true, kBlockSum = true;
    static constexpr int kBias = 0;
    static __m256i levels(const Block& b) {
        const __m256i hi = _mm256_and_si256(bits_to_bytes(load_u32(b.qh)), _mm256_set1_epi8(0x10));
        return _mm256_or_si256(nibbles_to_bytes(b.qs), hi);
    }
};

// A block scale (F16) as 8 float lanes.
inline __m256 half_to_ps8(uint16_t h) { return _mm256_cvtph_ps(_mm_set1_epi16(short(h))); }

// The 8 integer lanes of one (weight block, activation block) pair from the weight levels lv (and |lv| in
// ux for the signed type), the activation levels av and, for the biased types, the activation block's
// correction lanes. Every tile below computes a block's lanes with it.
template <class L>
inline __m256i block_lanes(__m256i lv, __m256i ux, __m256i av, const __m256i* corr) {
    if constexpr (L::kSigned) return dot4(ux, _mm256_sign_epi8(av, lv));
    else if constexpr (L::kBias != 0) return _mm256_sub_epi32(dot4(lv, av), *corr);
    else return dot4(lv, av);
}

// The lane-order paths below (run_one's, row_packed, row_tile8, row_tile8_x2) serve IQ4_NL alone: a signed
// type with no bias and no offset. The biased and offset types all sum per block (kBlockSum).
template <class L>
constexpr bool kLaneOrderType = L::kSigned&& L::kBias == 0 && !L::kOffset;

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
        if constexpr (L::kBlockSum) {
            return rows_sums<R>(w, w_stride, cols, tt, y);
        } else {
            static_assert(kLaneOrderType<L>);
            const int64_t nb = cols / 32;
            const Act* ar = reinterpret_cast<const Act*>(tt.a[0]);
            __m256 acc[R];
            for (int i = 0; i < R; ++i) acc[i] = _mm256_setzero_ps();
            for (int64_t b = 0; b < nb; ++b) {
                const __m256i av = load256(ar[b].qs);
                const __m256 da = _mm256_broadcast_ss(tt.d[0] + b);
                for (int i = 0; i < R; ++i) {
                    const Block& x = reinterpret_cast<const Block*>(w + i * w_stride)[b];
                    gemv_prefetch(reinterpret_cast<const char*>(&x) + kDecodePrefetch, 1);
                    const __m256i lv = L::levels(x);
                    const __m256i l = block_lanes<L>(lv, _mm256_sign_epi8(lv, lv), av, nullptr);
                    acc[i] =
                        _mm256_fmadd_ps(_mm256_mul_ps(half_to_ps8(x.d), da), _mm256_cvtepi32_ps(l), acc[i]);
                }
            }
            for (int i = 0; i < R; ++i) y[i] = hsum_lanes(acc[i]);
        }
    }
    // One token, kBlockSum, one row at a time: 8 blocks' integer lanes summed across at once (lane i:
    // block b + i, hsum8_epi32), so lane i of the accumulator is the reference's lane (b + i) % 8 and one
    // fma takes 8 blocks; the last 1-7 blocks leave the other lanes' scales at zero.
    template <int R, int CMAX>
    static void rows_sums(const uint8_t* w, size_t w_stride, int64_t cols, const TokenTile<CMAX>& tt,
                          float* y) {
        const int64_t nb = cols / 32;
        const Act* ar = reinterpret_cast<const Act*>(tt.a[0]);
        for (int r = 0; r < R; ++r) {
            const Block* x = reinterpret_cast<const Block*>(w + r * w_stride);
            __m256 acc = _mm256_setzero_ps();
            float summs = 0.0f;
            for (int64_t b = 0; b < nb; b += 8) {
                const int n = nb - b < 8 ? int(nb - b) : 8;
                __m256i l[8];
                alignas(16) uint16_t dw[8] = {};
                for (int i = 0; i < n; ++i) {
                    gemv_prefetch(reinterpret_cast<const char*>(x + b + i) + kDecodePrefetch, 1);
                    const __m256i lv = L::levels(x[b + i]);
                    const __m256i* corr = L::kBias != 0 ? tt.c[0] + b + i : nullptr;
                    l[i] = block_lanes<L>(lv, _mm256_sign_epi8(lv, lv), load256(ar[b + i].qs), corr);
                    dw[i] = x[b + i].d;
                    if constexpr (L::kOffset) summs = __builtin_fmaf(f16(x[b + i].m), tt.s[0][b + i], summs);
                }
                for (int i = n; i < 8; ++i) l[i] = _mm256_setzero_si256();
                const __m256 da =
                    n == 8 ? _mm256_loadu_ps(tt.d[0] + b) : _mm256_maskload_ps(tt.d[0] + b, first_lanes(n));
                const __m256 d =
                    _mm256_mul_ps(_mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(dw))), da);
                acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(hsum8_epi32(l)), acc);
            }
            y[r] = L::kOffset ? hsum_lanes(acc) + summs : hsum_lanes(acc);
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

// Packs tokens t0 .. t0 + C - 1.
template <class L, int C>
void pack_tokens(const uint8_t* a, size_t a_stride, int64_t t0, int64_t nb, const PackedTokens<C>& p) {
    using Act = typename L::Act;
    for (int t = 0; t < C; ++t) {
        const Act* ab = reinterpret_cast<const Act*>(a + (t0 + t) * a_stride);
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

// The C products d_w * d_a[t] of one block, into dd[0..C).
template <int C>
inline void block_scales(float dw, const float* da, float* dd) {
    if constexpr (C == 8) {
        _mm256_storeu_ps(dd, _mm256_mul_ps(_mm256_set1_ps(dw), _mm256_loadu_ps(da)));
    } else if constexpr (C >= 4) {
        _mm_storeu_ps(dd, _mm_mul_ps(_mm_set1_ps(dw), _mm_loadu_ps(da)));
        for (int t = 4; t < C; ++t) dd[t] = dw * da[t];
    } else {
        for (int t = 0; t < C; ++t) dd[t] = dw * da[t];
    }
}

// kBlockSum: one weight row against C (1 to 8) packed tokens. Per block the C tokens' integer lanes are
// summed across at once (hsum8_epi32: lane t token t) and join accumulator b % 8 (the reference's lane),
// whose lane t is token t's; the 8 are summed at the end in Lanes::sum's order.
template <class L, int C>
inline void row_sums(const uint8_t* w, int64_t nb, const PackedTokens<C>& p, float* y, int64_t ldy) {
    using Block = typename L::Block;
    const Block* x = reinterpret_cast<const Block*>(w);
    __m256 acc[8];
    for (auto& v : acc) v = _mm256_setzero_ps();
    float summs[C] = {};
    for (int64_t b0 = 0; b0 < nb; b0 += 8) {
#pragma GCC unroll 8
        for (int i = 0; i < 8; ++i) {  // unrolled: acc[i] stays in a register
            const int64_t b = b0 + i;
            if (b >= nb) break;
            _mm_prefetch(reinterpret_cast<const char*>(x + b) + kDecodePrefetch, _MM_HINT_T0);
            const __m256i lv = L::levels(x[b]), ux = _mm256_sign_epi8(lv, lv);
            __m256i l[8];
            for (int t = 0; t < 8; ++t)
                l[t] = t < C ? block_lanes<L>(lv, ux, _mm256_load_si256(p.qs + b * C + t),
                                              L::kBias != 0 ? p.corr + b * C + t : nullptr)
                             : _mm256_setzero_si256();
            const __m256 da =
                C == 8 ? _mm256_loadu_ps(p.d + b * C) : _mm256_maskload_ps(p.d + b * C, first_lanes(C));
            acc[i] = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_set1_ps(f16(x[b].d)), da),
                                     _mm256_cvtepi32_ps(hsum8_epi32(l)), acc[i]);
            if constexpr (L::kOffset) {
                const float mw = f16(x[b].m);
                for (int t = 0; t < C; ++t) summs[t] = __builtin_fmaf(mw, p.s[b * C + t], summs[t]);
            }
        }
    }
    alignas(32) float r[8];
    _mm256_store_ps(r, lanes_sum8(acc));
    for (int t = 0; t < C; ++t) y[t * ldy] = L::kOffset ? r[t] + summs[t] : r[t];
}

// One weight row against C packed tokens: the row's block is unpacked once and used for all C. The
// products of scale d_w * d_a of a row are a table [block][token] made before the row is computed (C per
// vector multiply, broadcast from there: measured 5-8% faster than multiplying inside the block loop).
// The table of row r + 1 is made inside row r's block loop (wn: row r + 1's blocks, ddn: its table), so
// that its multiplies and stores overlap the products and are long written when row r + 1 reads them (a
// separate loop per row before its products measured 3-5% slower on 18- and 48-block rows). The weights
// stream from memory (a forward pass of a few tokens reads every row once), so they are prefetched
// kDecodePrefetch ahead (in both families; the AVX-512 single-token GEMV does not prefetch, common.h).
template <class L, int C, bool kNext>
inline void row_packed(const uint8_t* w, const uint8_t* wn, int64_t nb, const PackedTokens<C>& p, float* y,
                       int64_t ldy, const float* dd, float* ddn) {
    using Block = typename L::Block;
    const Block* x = reinterpret_cast<const Block*>(w);
    const Block* xn = reinterpret_cast<const Block*>(wn);
    static_assert(kLaneOrderType<L>);
    __m256 acc[C];
    for (int t = 0; t < C; ++t) acc[t] = _mm256_setzero_ps();
    const __m256i* qs = p.qs;
    const float* ddb = dd;
    for (int64_t b = 0; b < nb; ++b, qs += C, ddb += C) {
        _mm_prefetch(reinterpret_cast<const char*>(x + b) + kDecodePrefetch, _MM_HINT_T0);
        if constexpr (kNext) block_scales<C>(f16(xn[b].d), p.d + b * C, ddn + b * C);
        const __m256i lv = L::levels(x[b]), ux = _mm256_sign_epi8(lv, lv);
        for (int t = 0; t < C; ++t) {
            const __m256i l = block_lanes<L>(lv, ux, _mm256_load_si256(qs + t), nullptr);
            acc[t] = _mm256_fmadd_ps(_mm256_broadcast_ss(ddb + t), _mm256_cvtepi32_ps(l), acc[t]);
        }
    }
    for (int t = 0; t < C; ++t) y[t * ldy] = hsum_lanes(acc[t]);
}

// Token T of a tile of 8 against one weight block (levels lv, |lv| in ux): acc + (d_w * d_a[T]) * lanes,
// the scale product taken from lane T % 4 of h (the block's 8 products, low or high half in both halves).
template <class L, int T>
inline __m256 tile8_unit(__m256 acc, __m256i lv, __m256i ux, const __m256i* qs, __m256 h) {
    const __m256i l = block_lanes<L>(lv, ux, _mm256_load_si256(qs + T), nullptr);
    return _mm256_fmadd_ps(_mm256_shuffle_ps(h, h, (T & 3) * 0x55), _mm256_cvtepi32_ps(l), acc);
}

// Prefill (a full tile of 8 tokens, weights from L2): row_packed without its table of scale products. The
// weight scales come as floats (dw, converted once per panel of rows rather than once per row and tile),
// the products d_w * d_a of a block are two multiplies (tokens 0-3 and 4-7, each set in both halves of
// a vector: dup) and each is spread to all lanes by an in-lane shuffle, so that nothing is stored and
// reloaded per block (the table's stores and broadcasts measured 4% of a 2048-wide product, 12% of an
// 8192-wide one; making the halves with cross-lane permutes per block instead of dup, 4% more).
template <class L>
inline void row_tile8(const uint8_t* w, const float* dw, int64_t nb, const PackedTokens<8>& p, const float* dup, float* y,
                      int64_t ldy) {
    using Block = typename L::Block;
    constexpr int C = 8;
    const Block* x = reinterpret_cast<const Block*>(w);
    static_assert(kLaneOrderType<L>);
    __m256 acc[C];
    for (int t = 0; t < C; ++t) acc[t] = _mm256_setzero_ps();
    const __m256i* qs = p.qs;
    for (int64_t b = 0; b < nb; ++b, qs += C) {
        const __m256 dwb = _mm256_broadcast_ss(dw + b);
        const __m256 dlo = _mm256_mul_ps(dwb, _mm256_load_ps(dup + b * 16));
        const __m256 dhi = _mm256_mul_ps(dwb, _mm256_load_ps(dup + b * 16 + 8));
        const __m256i lv = L::levels(x[b]), ux = _mm256_sign_epi8(lv, lv);
        // Unrolled by hand: the shuffle's lane selector must be a constant.
        acc[0] = tile8_unit<L, 0>(acc[0], lv, ux, qs, dlo);
        acc[1] = tile8_unit<L, 1>(acc[1], lv, ux, qs, dlo);
        acc[2] = tile8_unit<L, 2>(acc[2], lv, ux, qs, dlo);
        acc[3] = tile8_unit<L, 3>(acc[3], lv, ux, qs, dlo);
        acc[4] = tile8_unit<L, 4>(acc[4], lv, ux, qs, dhi);
        acc[5] = tile8_unit<L, 5>(acc[5], lv, ux, qs, dhi);
        acc[6] = tile8_unit<L, 6>(acc[6], lv, ux, qs, dhi);
        acc[7] = tile8_unit<L, 7>(acc[7], lv, ux, qs, dhi);
    }
    for (int t = 0; t < C; ++t) y[t * ldy] = hsum_lanes(acc[t]);
}

#if defined(__AVX512VNNI__)
// Prefill and batched decode on AVX-512 VNNI: row_tile8 with two tokens per 512-bit vector. The packed tokens
// of a block are [token][32 bytes], so tokens 2k and 2k + 1 are one aligned 64-byte load; the weight block is
// broadcast to both halves, and each half of an accumulator holds one token's 8 lanes, which see the same
// sequence of fma(d_w * d_a, lanes, acc) as in row_tile8 (bit-identical).
//
// The integer lanes come from one vpdpbusd per pair whose accumulator input carries both what row_tile8
// subtracts afterwards and the bias of the float conversion: a lane starts at the bit pattern of
// kMagic = 1.5 * 2^23, so that after adding its products (|sum| < 2^22: at most 4 * 128 * 128) its bits
// are the float kMagic + sum exactly, and one subtraction gives float(sum) exactly. On Zen 4 that
// subtraction runs on the adder pipes, where vcvtdq2ps would compete with vpdpbusd and the FMA for the
// two multiply pipes (measured: the multiply pipes are what a prefill tile is bound by). The tokens were
// packed as a + 128 (unsigned; prepare_x2) and the weights are the signed operand, so the lanes start at
// kMagic - 128 * (the weight lanes' sums), made once per block.
constexpr int32_t kMagic = 0x4B400000;

inline __m512 pair_lanes(__m512i lv, __m512i start, const __m512i* qs) {
    const __m512i l = _mm512_dpbusd_epi32(start, _mm512_load_si512(qs), lv);
    return _mm512_sub_ps(_mm512_castsi512_ps(l), _mm512_castsi512_ps(_mm512_set1_epi32(kMagic)));
}

// Lanes 0-7 take the scale product of token 2K, lanes 8-15 that of token 2K + 1 (of the block's 8 in dd).
template <int K>
inline __m512 pair_scales(__m512 dd) {
    const __m512i pick = _mm512_set_epi64(0x100000001LL * (2 * K + 1), 0x100000001LL * (2 * K + 1),
                                          0x100000001LL * (2 * K + 1), 0x100000001LL * (2 * K + 1),
                                          0x100000001LL * (2 * K), 0x100000001LL * (2 * K),
                                          0x100000001LL * (2 * K), 0x100000001LL * (2 * K));
    return _mm512_permutexvar_ps(pick, dd);
}

// Where a row's weight scales come from: a table of floats made for the panel (kTable: prefill after the
// panel's first tile of tokens), converted where used (kStream: batched decode, weights read once from
// memory) or converted where used and written to the table (kFill: the panel's first tile, which reads
// the weights from memory, so that their latency overlaps the products). kStream and kFill prefetch the
// weights kDecodePrefetch ahead.
enum class Scales { kTable, kStream, kFill };

template <class L, Scales S>
inline void row_tile8_x2(const uint8_t* w, float* dw, int64_t nb, const PackedTokens<8>& p, float* y, int64_t ldy) {
    using Block = typename L::Block;
    const Block* x = reinterpret_cast<const Block*>(w);
    static_assert(kLaneOrderType<L>);
    __m512 acc0 = _mm512_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
    const __m512i* qs = reinterpret_cast<const __m512i*>(p.qs);
    for (int64_t b = 0; b < nb; ++b, qs += 4) {
        __m256 dwb;
        if constexpr (S == Scales::kTable) {
            dwb = _mm256_broadcast_ss(dw + b);
        } else {
            _mm_prefetch(reinterpret_cast<const char*>(x + b) + kDecodePrefetch, _MM_HINT_T0);
            const float d = f16(x[b].d);
            if constexpr (S == Scales::kFill) dw[b] = d;
            dwb = _mm256_set1_ps(d);
        }
        const __m512 dd = _mm512_castps256_ps512(_mm256_mul_ps(dwb, _mm256_load_ps(p.d + b * 8)));
        const __m512i lv = _mm512_broadcast_i64x4(L::levels(x[b]));
        const __m512i start =
            _mm512_sub_epi32(_mm512_set1_epi32(kMagic),
                             _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8(char(0x80)), lv));
        acc0 = _mm512_fmadd_ps(pair_scales<0>(dd), pair_lanes(lv, start, qs + 0), acc0);
        acc1 = _mm512_fmadd_ps(pair_scales<1>(dd), pair_lanes(lv, start, qs + 1), acc1);
        acc2 = _mm512_fmadd_ps(pair_scales<2>(dd), pair_lanes(lv, start, qs + 2), acc2);
        acc3 = _mm512_fmadd_ps(pair_scales<3>(dd), pair_lanes(lv, start, qs + 3), acc3);
    }
    // The 8 tokens' hsum_lanes in one transposed reduction (same additions in the same order).
    const __m256 v[8] = {_mm512_castps512_ps256(acc0), _mm512_extractf32x8_ps(acc0, 1),
                         _mm512_castps512_ps256(acc1), _mm512_extractf32x8_ps(acc1, 1),
                         _mm512_castps512_ps256(acc2), _mm512_extractf32x8_ps(acc2, 1),
                         _mm512_castps512_ps256(acc3), _mm512_extractf32x8_ps(acc3, 1)};
    alignas(32) float r[8];
    _mm256_store_ps(r, hsum_lanes8(v));
    for (int t = 0; t < 8; ++t) y[t * ldy] = r[t];
}

// What row_tile8_x2 expects of the packed tokens, made in place from pack_tokens' layout.
inline void prepare_x2(const PackedTokens<8>& p, int64_t nb) {
    const __m256i flip = _mm256_set1_epi8(char(0x80));
    for (int64_t i = 0; i < nb * 8; ++i)
        _mm256_store_si256(p.qs + i, _mm256_xor_si256(_mm256_load_si256(p.qs + i), flip));
}
#endif

// The lane order (IQ4_NL) for rows [r0, r1) against C packed tokens (see sweep_packed).
template <class L, int C>
void sweep_lanes(const uint8_t* w, size_t w_stride, int64_t nb, int64_t r0, int64_t r1,
                 const PackedTokens<C>& p, int64_t t0, float* dd, float* dw, float* y, int64_t ldy) {
    if constexpr (C == 8) {
        if (dw) {
#if defined(__AVX512VNNI__)
            prepare_x2(p, nb);
            // dw is filled by the panel's first tile of tokens (t0 == 0).
            for (int64_t r = r0; r < r1; ++r) {
                float* dwr = dw + (r - r0) * nb;
                if (t0 == 0) row_tile8_x2<L, Scales::kFill>(w + r * w_stride, dwr, nb, p, y + t0 * ldy + r, ldy);
                else row_tile8_x2<L, Scales::kTable>(w + r * w_stride, dwr, nb, p, y + t0 * ldy + r, ldy);
            }
#else
            float* dup = static_cast<float*>(__builtin_alloca_with_align(sizeof(float) * 16 * nb, 256));
            for (int64_t b = 0; b < nb; ++b) {
                const __m256 v = _mm256_load_ps(p.d + b * 8);
                _mm256_store_ps(dup + b * 16, _mm256_permute2f128_ps(v, v, 0x00));
                _mm256_store_ps(dup + b * 16 + 8, _mm256_permute2f128_ps(v, v, 0x11));
            }
            for (int64_t r = r0; r < r1; ++r)
                row_tile8<L>(w + r * w_stride, dw + (r - r0) * nb, nb, p, dup, y + t0 * ldy + r, ldy);
#endif
            return;
        }
    }
#if defined(__AVX512VNNI__)
    if constexpr (C == 8) {
        prepare_x2(p, nb);
        for (int64_t r = r0; r < r1; ++r) row_tile8_x2<L, Scales::kStream>(w + r * w_stride, nullptr, nb, p, y + t0 * ldy + r, ldy);
        return;
    }
#endif
    if (r0 >= r1) return;
    // Two tables of scale products, [block][token]: row r's and row r + 1's (made during row r).
    float* tab[2] = {dd, dd + 8 * nb};
    {
        const typename L::Block* x = reinterpret_cast<const typename L::Block*>(w + r0 * w_stride);
        for (int64_t b = 0; b < nb; ++b) block_scales<C>(f16(x[b].d), p.d + b * C, tab[0] + b * C);
    }
    int64_t r = r0;
    for (; r + 1 < r1; ++r)
        row_packed<L, C, true>(w + r * w_stride, w + (r + 1) * w_stride, nb, p, y + t0 * ldy + r, ldy,
                               tab[(r - r0) & 1], tab[(r + 1 - r0) & 1]);
    row_packed<L, C, false>(w + r * w_stride, nullptr, nb, p, y + t0 * ldy + r, ldy, tab[(r - r0) & 1],
                            nullptr);
}

// Rows [r0, r1) against the C tokens t0 .. t0 + C - 1, packed once into buf's memory (room for 8); dd
// has room for 16 floats per block (two rows' tables); dw (prefill only, else null) holds the rows' weight
// scales as floats.
template <class L, int C>
void sweep_packed(const uint8_t* w, size_t w_stride, int64_t nb, int64_t r0, int64_t r1, const uint8_t* a,
                  size_t a_stride, int64_t t0, const PackedTokens<8>& buf, float* dd, float* dw, float* y,
                  int64_t ldy) {
    static_assert(C >= 1 && C <= 8);
    const PackedTokens<C> p{buf.qs, buf.corr, buf.d, buf.s};
    pack_tokens<L, C>(a, a_stride, t0, nb, p);
    if constexpr (L::kBlockSum) {
        for (int64_t r = r0; r < r1; ++r) row_sums<L, C>(w + r * w_stride, nb, p, y + t0 * ldy + r, ldy);
    } else {
        sweep_lanes<L, C>(w, w_stride, nb, r0, r1, p, t0, dd, dw, y, ldy);
    }
}

// The GemmFn of a 32-block type: one token goes through Tile32's row-by-row GEMV; several tokens are
// packed 8 at a time (the last tile: as many as are left, so that a batch of 2 to 7 tokens, or the
// tail of a bigger one, costs what its tokens cost, not a full tile's) and swept by panels of rows
// that stay in L2.
template <class L, int DecodeRows>
void gemm_q32(const MatRef& m, int64_t r0, int64_t r1, const void* av, size_t a_stride, int64_t n_tok, float* y,
              int64_t ldy) {
    constexpr int C = 8;
    const uint8_t* w = static_cast<const uint8_t*>(m.data);
    const uint8_t* a = static_cast<const uint8_t*>(av);
    if (n_tok == 1) {
        tiled_gemm<Tile32<L, DecodeRows>>(w, m.row_bytes, m.cols, r0, r1, a, a_stride, 1, y, ldy);
        return;
    }
    const int64_t nb = m.cols / 32;
    PackedTokens<C> p;
    p.qs = static_cast<__m256i*>(__builtin_alloca_with_align(sizeof(__m256i) * C * nb, 512));
    p.corr = L::kBias != 0 ? static_cast<__m256i*>(__builtin_alloca_with_align(sizeof(__m256i) * C * nb, 512)) : nullptr;
    p.d = static_cast<float*>(__builtin_alloca_with_align(sizeof(float) * C * nb, 256));
    p.s = L::kOffset ? static_cast<float*>(__builtin_alloca(sizeof(float) * C * nb)) : nullptr;
    float* dd = static_cast<float*>(__builtin_alloca_with_align(sizeof(float) * 2 * C * nb, 256));
    int64_t panel = int64_t(256 * 1024 / m.row_bytes);
    if (panel < 1) panel = 1;
    // Prefill: the panel's weight scales as floats, converted once for all its token tiles.
    const bool prefill = n_tok > kStreamTokens;
    float* dw = prefill ? static_cast<float*>(__builtin_alloca_with_align(sizeof(float) * panel * nb, 256)) : nullptr;
    for (int64_t p0 = r0; p0 < r1; p0 += panel) {
        const int64_t p1 = p0 + panel < r1 ? p0 + panel : r1;
#if !defined(__AVX512VNNI__)  // AVX-512: the panel's first tile of tokens fills dw (Scales::kFill)
        if (prefill) {
            for (int64_t r = p0; r < p1; ++r) {
                using Block = typename L::Block;
                const Block* x = reinterpret_cast<const Block*>(w + r * m.row_bytes);
                for (int64_t b = 0; b < nb; ++b) dw[(r - p0) * nb + b] = f16(x[b].d);
            }
        }
#endif
        for (int64_t t = 0; t < n_tok; t += C) {
            const size_t ws = m.row_bytes;
            switch (n_tok - t < C ? n_tok - t : C) {
                case 1: sweep_packed<L, 1>(w, ws, nb, p0, p1, a, a_stride, t, p, dd, dw, y, ldy); break;
                case 2: sweep_packed<L, 2>(w, ws, nb, p0, p1, a, a_stride, t, p, dd, dw, y, ldy); break;
                case 3: sweep_packed<L, 3>(w, ws, nb, p0, p1, a, a_stride, t, p, dd, dw, y, ldy); break;
                case 4: sweep_packed<L, 4>(w, ws, nb, p0, p1, a, a_stride, t, p, dd, dw, y, ldy); break;
                case 5: sweep_packed<L, 5>(w, ws, nb, p0, p1, a, a_stride, t, p, dd, dw, y, ldy); break;
                case 6: sweep_packed<L, 6>(w, ws, nb, p0, p1, a, a_stride, t, p, dd, dw, y, ldy); break;
                case 7: sweep_packed<L, 7>(w, ws, nb, p0, p1, a, a_stride, t, p, dd, dw, y, ldy); break;
                default: sweep_packed<L, 8>(w, ws, nb, p0, p1, a, a_stride, t, p, dd, dw, y, ldy); break;
            }
        }
    }
}

}  // namespace kinglet::kernels::KINGLET_ISA
