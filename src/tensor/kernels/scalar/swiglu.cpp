// SiLU(gate) * up, the reference every SIMD family reproduces bit for bit.
#include <cmath>

#include "tensor/kernels/kernels.h"

namespace kinglet::kernels {

// exp(x) by range reduction to 2^n * p(b), |b| <= ln2/2, with a degree-5 polynomial (the
// single-precision routine from Arm's optimized-routines, max error about 1.5 ulp). Every step is a
// single fused multiply-add or an exact operation, so a SIMD lane computes the same bits.
float exp_poly_ref(float x) {
    const float shift = 0x1.8p23f;
    const float z = std::fma(x, 0x1.715476p+0f, shift);
    const float n = z - shift;
    const float b = std::fma(-n, 0x1.7f7d1cp-20f, std::fma(-n, 0x1.62e4p-1f, x));
    if (std::fabs(n) > 192.0f) return n > 0 ? INFINITY : 0.0f;
    const float u = b * b;
    const float j = std::fma(std::fma(std::fma(0x1.0e4020p-7f, b, 0x1.573e2ep-5f), u, std::fma(0x1.555e66p-3f, b, 0x1.fffdb6p-2f)),
                             u, std::fma(0x1.ffffecp-1f, b, 1.0f));
    return std::ldexp(j, static_cast<int>(n));
}

// Whole groups of 16 use the polynomial exp, the tail the C library's expf: the same split
// llama.cpp's AVX-512 build makes, so activations round identically.
void swiglu_ref(const float* gate, const float* up, float* out, int64_t n) {
    const int64_t bulk = n - n % 16;
    for (int64_t i = 0; i < bulk; ++i) {
        const float g = gate[i];
        out[i] = g / (1.0f + exp_poly_ref(-g)) * up[i];
    }
    for (int64_t i = bulk; i < n; ++i) {
        const float g = gate[i];
        out[i] = g / (1.0f + std::exp(-g)) * up[i];
    }
}

}  // namespace kinglet::kernels
