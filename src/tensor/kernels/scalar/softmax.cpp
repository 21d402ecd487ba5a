// The softmax passes over a vocabulary (the sampler's weights, log-sum-exp), the reference every SIMD
// family reproduces bit for bit: exp_poly_ref for the exponential, and the sum of the weights kept in 8
// double lanes (element i in lane i % 8), the order 8-wide vector code adds them in.
#include <cmath>

#include "tensor/kernels/kernels.h"

namespace kinglet::kernels {

double exp_weights_ref(const float* x, float* w, int64_t n, float mx, float scale) {
    double lanes[8] = {};
    for (int64_t i = 0; i < n; ++i) {
        const float t = (x[i] - mx) * scale;
        w[i] = std::isnan(t) ? 0.0f : exp_poly_ref(t);
        lanes[i % 8] += double(w[i]);
    }
    return ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
}

float max_ref(const float* x, int64_t n) {
    float m = -INFINITY;
    for (int64_t i = 0; i < n; ++i)
        if (x[i] > m) m = x[i];  // false for NaN: skipped
    return m;
}

}  // namespace kinglet::kernels
