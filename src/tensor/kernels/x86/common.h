// Building blocks shared by the AVX2 and AVX-512 families. This header is compiled once per family
// (from avx2/*.cpp with -mavx2 ..., from avx512/*.cpp with -mavx512...), so everything in it lives in a
// namespace named after the family: an inline function compiled for AVX-512 must never be what the
// linker picks for the AVX2 family. Kernel files include no standard-library templates for the same
// reason (a template instantiated with AVX-512 instructions could replace the baseline copy).
#pragma once
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "tensor/dtype.h"

#if defined(__AVX512F__)
#define KINGLET_ISA avx512
#else
#define KINGLET_ISA avx2
#endif

#if !defined(__AVX2__) || !defined(__FMA__) || !defined(__F16C__)
#error "x86 kernels need -mavx2 -mfma -mf16c"
#endif

namespace kinglet::kernels::KINGLET_ISA {

inline float f16(uint16_t h) { return _cvtsh_ss(h); }
inline uint16_t to_f16(float f) { return _cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT); }

inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
inline __m128i load128(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }

// 8 float lanes summed as (l0+l4 + l2+l6) + (l1+l5 + l3+l7): the order of llama.cpp's hsum_float_8
// and of the scalar reference (tensor/dot.cpp).
inline float hsum_lanes(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// hsum_lanes of 8 vectors at once (lane p of the result is hsum_lanes(v[p])): the same additions with
// the same operands in the same order, done for 8 vectors per instruction after transposing.
inline __m256 hsum_lanes8(const __m256* v) {
    __m256 w[4];  // w[i]: lanes l + l+4 of v[2i] (low half) and v[2i+1] (high half)
    for (int i = 0; i < 4; ++i)
        w[i] = _mm256_add_ps(_mm256_permute2f128_ps(v[2 * i], v[2 * i + 1], 0x20),
                             _mm256_permute2f128_ps(v[2 * i], v[2 * i + 1], 0x31));
    // (l0 + l2, l1 + l3) of two vectors per half: v0, v2 | v1, v3 and v4, v6 | v5, v7.
    const __m256 z0 = _mm256_add_ps(_mm256_shuffle_ps(w[0], w[1], _MM_SHUFFLE(1, 0, 1, 0)),
                                    _mm256_shuffle_ps(w[0], w[1], _MM_SHUFFLE(3, 2, 3, 2)));
    const __m256 z1 = _mm256_add_ps(_mm256_shuffle_ps(w[2], w[3], _MM_SHUFFLE(1, 0, 1, 0)),
                                    _mm256_shuffle_ps(w[2], w[3], _MM_SHUFFLE(3, 2, 3, 2)));
    // Sums of v0, v2, v4, v6 | v1, v3, v5, v7; then in order.
    const __m256 f = _mm256_add_ps(_mm256_shuffle_ps(z0, z1, _MM_SHUFFLE(2, 0, 2, 0)),
                                   _mm256_shuffle_ps(z0, z1, _MM_SHUFFLE(3, 1, 3, 1)));
    return _mm256_permutevar8x32_ps(f, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

// 8 vectors of float lanes added as Lanes::sum adds its 8 lanes (tensor/dot_lanes.h), lane by lane:
// (v0 + v4 + v2 + v6) + (v1 + v5 + v3 + v7).
inline __m256 lanes_sum8(const __m256 (&v)[8]) {
    return _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(v[0], v[4]), _mm256_add_ps(v[2], v[6])),
                         _mm256_add_ps(_mm256_add_ps(v[1], v[5]), _mm256_add_ps(v[3], v[7])));
}

// A mask of lanes 0 .. n - 1 (0 <= n <= 8) for the masked loads.
inline __m256i first_lanes(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// Lane p of the result: the sum of v[p]'s 8 int32 lanes (integers, so exact in any order).
inline __m256i hsum8_epi32(const __m256i* v) {
    // ab: the 4-lane sums of v0 .. v3 (low half: lanes 0-3, high half: 4-7), cd: of v4 .. v7.
    const __m256i ab = _mm256_hadd_epi32(_mm256_hadd_epi32(v[0], v[1]), _mm256_hadd_epi32(v[2], v[3]));
    const __m256i cd = _mm256_hadd_epi32(_mm256_hadd_epi32(v[4], v[5]), _mm256_hadd_epi32(v[6], v[7]));
    return _mm256_add_epi32(_mm256_permute2x128_si256(ab, cd, 0x20), _mm256_permute2x128_si256(ab, cd, 0x31));
}

// The sum of v's 8 int32 lanes.
inline int32_t hsum_i32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 1));
    return _mm_cvtsi128_si32(s);
}

// Sums of 4 consecutive products of unsigned bytes u and signed bytes s, as 8 int32 lanes. Exact for
// every operand pair kinglet produces: the AVX2 form goes through int16 pairs, which cannot saturate
// while u <= 128 and |s| <= 127 (or u <= 63 and any s).
inline __m256i dot4(__m256i u, __m256i s) {
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s);
#else
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
#endif
}

// The same for two signed operands: |w| times s with w's sign moved onto s.
inline __m256i dot4_signed(__m256i w, __m256i s) { return dot4(_mm256_sign_epi8(w, w), _mm256_sign_epi8(s, w)); }

// 32 bits to 32 bytes: byte j is 0xFF when bit j is set, else 0.
inline __m256i bits_to_bytes(uint32_t bits) {
    const __m256i shuf = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0);
    __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32(int(bits)), shuf);
    // Set every bit except bit (j % 8) of byte j; the byte is all ones exactly when that bit was set.
    v = _mm256_or_si256(v, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe));
    return _mm256_cmpeq_epi8(v, _mm256_set1_epi64x(-1));
}

// 16 bytes of packed nibbles to 32 bytes: low nibbles first (elements 0..15), then high (16..31).
inline __m256i nibbles_to_bytes(const uint8_t* p) {
    const __m256i q = _mm256_broadcastsi128_si256(load128(p));
    const __m256i v = _mm256_srlv_epi64(q, _mm256_set_epi64x(4, 4, 0, 0));
    return _mm256_and_si256(v, _mm256_set1_epi8(0x0F));
}

// How far ahead of the weight block it is reading a single-token product (GEMV) prefetches. A GEMV
// reads its rows one after another, so its weight loads are one constant-stride walk through memory;
// on the Zen 3 machines this was tuned on, the hardware alone reaches barely half the streaming
// bandwidth on it, and a prefetch 16 KiB ahead reaches about 90% of it (8-64 KiB are within noise;
// 4 KiB is too close). Reading 2-8 rows interleaved instead was slower on every shape measured (the
// walk is cut into short strides), most of all on narrow rows (576 wide: ~60% of a single walk).
constexpr size_t kDecodePrefetch = 16384;

// kDecodeHint: the cache level the streaming products' prefetches fill. AVX-512 (measured on Zen 4,
// 1 MiB L2 per core): into L2 (T1), which ran the 1B Q8_0 decode 10-16% faster than into L1, where
// 16 KiB of lines in flight ahead of the reads take half of a 32 KiB L1. AVX2 (tuned on Zen 3): into L1
// (T0). The 8-token tiles of the 32-blocks (gemm_q32.h: batched decode, a prefill panel's first tile)
// spend longer on each line and prefetch into L1 in both families (batched decode of 8 sequences
// measured ~10% faster so).
//
// kGemvPrefetch: whether a product of one token (GEMV) prefetches in software at all. AVX2 (Zen 3,
// above): yes. AVX-512 (measured on Zen 4): no. A GEMV reads its weights in one sequential walk, which
// Zen 4's hardware prefetchers follow on their own, and the software prefetches only cost there.
// Without them, interleaved pairs of `kinglet bench -p 8 -n 64` (27 Nov): 1B Q4_K_M decode +12% at two
// threads (7 of 8 pairs faster; CPU 53.9 -> 47.8 ms per token) and +10% at one (5 of 5); 1B F16 +5%
// (6 of 6); 0.5B and 135M Q4_K_M level. The grouped Q8_0 GEMV had already dropped them (gemm_rows16.h).
// Several tokens (batched decode) spend longer on each line and keep them: the grouped Q4_K kernel at
// 4 sequences ran at 0.48x without.
#if defined(__AVX512F__)
constexpr auto kDecodeHint = _MM_HINT_T1;
constexpr bool kGemvPrefetch = false;
#else
constexpr auto kDecodeHint = _MM_HINT_T0;
constexpr bool kGemvPrefetch = true;
#endif

// Software prefetch of [p, p + bytes) for a streaming product (kDecodeHint).
inline void prefetch(const void* p, size_t bytes) {
    const char* c = static_cast<const char*>(p);
    for (size_t o = 0; o < bytes; o += 64) _mm_prefetch(c + o, kDecodeHint);
}

// prefetch() in a GEMV: only where kGemvPrefetch.
inline void gemv_prefetch(const void* p, size_t bytes) {
    if constexpr (kGemvPrefetch) prefetch(p, bytes);
}

// prefetch() in a tile of C tokens that streams its weights (TokenTile::stream): always for several
// tokens, for one only where kGemvPrefetch.
template <int C>
inline void stream_prefetch(bool stream, const void* p, size_t bytes) {
    if (stream && (C > 1 || kGemvPrefetch)) prefetch(p, bytes);
}

inline uint32_t load_u32(const void* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

}  // namespace kinglet::kernels::KINGLET_ISA
