// exp_poly_ref (kernels/scalar/swiglu.cpp) on 8 lanes, bit for bit: SiLU and the softmax weights use it.
#pragma once
#include "tensor/kernels/x86/common.h"

namespace kinglet::kernels::KINGLET_ISA {

inline __m256 abs8(__m256 v) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v); }

// exp_poly_ref on 8 lanes. ldexp(j, n) is j * 2^(n/2) * 2^(n - n/2): the first product is exact for
// |n| <= 192, so the second rounds once, as ldexp does (also into subnormals and overflow).
inline __m256 exp_poly8(__m256 x) {
    const __m256 shift = _mm256_set1_ps(0x1.8p23f);
    const __m256 z = _mm256_fmadd_ps(x, _mm256_set1_ps(0x1.715476p+0f), shift);
    const __m256 n = _mm256_sub_ps(z, shift);
    const __m256 b = _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.7f7d1cp-20f),
                                      _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.62e4p-1f), x));
    const __m256 u = _mm256_mul_ps(b, b);
    const __m256 p45 = _mm256_fmadd_ps(_mm256_set1_ps(0x1.0e4020p-7f), b, _mm256_set1_ps(0x1.573e2ep-5f));
    const __m256 p23 = _mm256_fmadd_ps(_mm256_set1_ps(0x1.555e66p-3f), b, _mm256_set1_ps(0x1.fffdb6p-2f));
    const __m256 p01 = _mm256_fmadd_ps(_mm256_set1_ps(0x1.ffffecp-1f), b, _mm256_set1_ps(1.0f));
    const __m256 j = _mm256_fmadd_ps(_mm256_fmadd_ps(p45, u, p23), u, p01);
    const __m256i ni = _mm256_cvttps_epi32(n);  // n is integral here
    const __m256i n1 = _mm256_srai_epi32(ni, 1), n2 = _mm256_sub_epi32(ni, n1);
    const __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, _mm256_set1_epi32(127)), 23));
    const __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, _mm256_set1_epi32(127)), 23));
    const __m256 r = _mm256_mul_ps(_mm256_mul_ps(j, s1), s2);
    // |n| > 192: +inf or 0, as the reference.
    const __m256 big = _mm256_cmp_ps(abs8(n), _mm256_set1_ps(192.0f), _CMP_GT_OQ);
    const __m256 pos = _mm256_cmp_ps(n, _mm256_setzero_ps(), _CMP_GT_OQ);
    const __m256 sat = _mm256_and_ps(pos, _mm256_set1_ps(__builtin_inff()));
    return _mm256_blendv_ps(r, sat, big);
}

}  // namespace kinglet::kernels::KINGLET_ISA
