// Rotary embedding, the reference every SIMD family reproduces bit for bit.
#include <cmath>

#include "tensor/kernels/kernels.h"

namespace kinglet::kernels {

void rope_ref(float* x, int n_heads, int head_dim, int n_rot, const float* c, const float* s, bool neox) {
    const int half = n_rot / 2;
    for (int h = 0; h < n_heads; ++h) {
        float* v = x + size_t(h) * head_dim;
        for (int i = 0; i < half; ++i) {
            float& a = neox ? v[i] : v[2 * i];
            float& b = neox ? v[i + half] : v[2 * i + 1];
            const float a0 = a, b0 = b;
            a = std::fma(a0, c[i], -(b0 * s[i]));
            b = std::fma(a0, s[i], b0 * c[i]);
        }
    }
}

}  // namespace kinglet::kernels
