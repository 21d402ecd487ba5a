// Q4_K weights in Layout::kRows16 (tensor/rows16.h) against Q8_K activations, bit-identical to the
// reference (tensor/dot.cpp's dot_k4 with vector mins): per super-block, lane l of a row is the sum
// over its 8 sub-blocks of scale * (the 4 products of elements 4l .. 4l + 3); each lane accumulates
// fma(d_w * d_a, lane, acc); the min term keeps 4 partial sums. A group holds one row per 32-bit lane
// and chunk c of a super-block holds lane c % 8 of sub-blocks 2 (c / 8) and 2 (c / 8) + 1 for all 16
// rows, so one broadcast group of 4 activations meets 16 rows in one multiply, the sub-block scale
// joins in one more (vpdpwssd: a 4-product sum fits in 16 bits), and nothing is summed across lanes.
#pragma once
#include <vector>

#include "tensor/kernels/x86/common.h"
#include "tensor/mat_ref.h"
#include "tensor/rows16.h"

namespace kinglet::kernels::KINGLET_ISA {

#if defined(__AVX512VNNI__)
// The 8 scales and 8 mins of a super-block for 16 rows, as 32-bit lanes, from the 12 packed bytes
// (stored [byte][row]): k4_scale_min on 16 rows at once.
inline void rows16_scales(const uint8_t* p, __m512i (&sc)[8], __m512i (&mn)[8]) {
    __m128i s[12];
    for (int i = 0; i < 12; ++i) s[i] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * i));
    const __m128i m6 = _mm_set1_epi8(63), m4 = _mm_set1_epi8(0x0F), hi2 = _mm_set1_epi8(0x30);
    for (int j = 0; j < 4; ++j) {
        sc[j] = _mm512_cvtepu8_epi32(_mm_and_si128(s[j], m6));
        mn[j] = _mm512_cvtepu8_epi32(_mm_and_si128(s[j + 4], m6));
    }
    for (int j = 4; j < 8; ++j) {
        // (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4) and (q[j + 4] >> 4) | ((q[j] >> 6) << 4); a 16-bit
        // shift brings the next byte's bits into the top, which the masks drop.
        const __m128i top_lo = _mm_and_si128(_mm_srli_epi16(s[j - 4], 2), hi2);
        const __m128i top_m = _mm_and_si128(_mm_srli_epi16(s[j], 2), hi2);
        sc[j] = _mm512_cvtepu8_epi32(_mm_or_si128(_mm_and_si128(s[j + 4], m4), top_lo));
        mn[j] = _mm512_cvtepu8_epi32(_mm_or_si128(_mm_and_si128(_mm_srli_epi16(s[j + 4], 4), m4), top_m));
    }
}

// One group (16 rows) against one token: y[0..16).
inline void rows16_q4k_group(const uint8_t* g, int64_t nb, const BlockQ8_K* a, float* y) {
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    __m512 acc[8], mins[4];
    for (auto& v : acc) v = _mm512_setzero_ps();
    for (auto& v : mins) v = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; ++b, g += kRows16Block) {
        prefetch(g + kDecodePrefetch, kRows16Block);  // the weights stream from memory, as in any GEMV
        const int32_t* a4 = reinterpret_cast<const int32_t*>(a[b].qs);
        __m512i sc[8], mn[8];
        rows16_scales(g + kRows16Scales, sc, mn);
        __m512i lane[8];
        for (auto& v : lane) v = _mm512_setzero_si512();
#pragma GCC unroll 32
        for (int c = 0; c < 32; ++c) {
            const int j = c / 8, o = c % 8;
            const __m512i w = _mm512_loadu_si512(g + 64 * c);
            const __m512i lo = _mm512_and_si512(w, m4), hi = _mm512_and_si512(_mm512_srli_epi16(w, 4), m4);
            const __m512i dlo = _mm512_dpbusd_epi32(_mm512_setzero_si512(), lo, _mm512_set1_epi32(a4[16 * j + o]));
            const __m512i dhi = _mm512_dpbusd_epi32(_mm512_setzero_si512(), hi, _mm512_set1_epi32(a4[16 * j + 8 + o]));
            lane[o] = _mm512_dpwssd_epi32(lane[o], dlo, sc[2 * j]);
            lane[o] = _mm512_dpwssd_epi32(lane[o], dhi, sc[2 * j + 1]);
        }
        const __m512 ya = _mm512_set1_ps(a[b].d);
        const __m512 d = _mm512_mul_ps(ya, _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(g + kRows16D))));
        const __m512 dmin = _mm512_mul_ps(_mm512_set1_ps(-a[b].d),
                                          _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(g + kRows16Dmin))));
#pragma GCC unroll 8
        for (int o = 0; o < 8; ++o) acc[o] = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(lane[o]), acc[o]);
        const int16_t* bs = a[b].bsums;
#pragma GCC unroll 4
        for (int k = 0; k < 4; ++k) {
            const int j0 = 2 * k, j1 = 2 * k + 1;
            const __m512i pr = _mm512_add_epi32(_mm512_mullo_epi32(mn[j0], _mm512_set1_epi32(bs[2 * j0] + bs[2 * j0 + 1])),
                                                _mm512_mullo_epi32(mn[j1], _mm512_set1_epi32(bs[2 * j1] + bs[2 * j1 + 1])));
            mins[k] = _mm512_fmadd_ps(dmin, _mm512_cvtepi32_ps(pr), mins[k]);
        }
    }
    const __m512 s0 = _mm512_add_ps(acc[0], acc[4]), s1 = _mm512_add_ps(acc[1], acc[5]);
    const __m512 s2 = _mm512_add_ps(acc[2], acc[6]), s3 = _mm512_add_ps(acc[3], acc[7]);
    const __m512 m = _mm512_add_ps(_mm512_add_ps(mins[0], mins[2]), _mm512_add_ps(mins[1], mins[3]));
    _mm512_storeu_ps(y, _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s2), _mm512_add_ps(s1, s3)), m));
}

// Rows [r0, r1) (whole groups) of a kRows16 matrix against one token (decode).
inline void gemm_rows16_q4k(const MatRef& m, int64_t r0, int64_t r1, const void* a, float* y) {
    const int64_t nb = m.cols / QK_K;
    const BlockQ8_K* at = static_cast<const BlockQ8_K*>(a);
    for (int64_t g = r0 / kRows16; g < (r1 + kRows16 - 1) / kRows16; ++g)
        rows16_q4k_group(m.row(g * kRows16), nb, at, y + g * kRows16);
}
#endif

// Several tokens, or a family without the kernel: rows [r0, r1) taken out of their groups into a plain
// buffer once per call (for a batch or a prefill chunk the copy is small beside the products) and
// computed by `plain`, the plain layout's kernel.
template <class Plain>
inline void gemm_rows16_unpacked(const MatRef& m, int64_t r0, int64_t r1, const void* a, size_t a_stride, int64_t n_tok,
                                 float* y, int64_t ldy, Plain plain) {
    thread_local std::vector<uint8_t> buf;
    buf.resize(size_t(r1 - r0) * m.row_bytes);
    for (int64_t r = r0; r < r1; ++r) rows16_row(m, r, buf.data() + (r - r0) * m.row_bytes);
    MatRef p = m;
    p.data = buf.data();
    p.rows = r1 - r0;
    p.layout = Layout::kPlain;
    plain(p, 0, r1 - r0, a, a_stride, n_tok, y + r0, ldy);
}

}  // namespace kinglet::kernels::KINGLET_ISA
