#include "tensor/ops.h"

#include <cmath>
#include <vector>

#include "tensor/dot.h"
#include "tensor/quant.h"

namespace kinglet {

void matmul(const MatRef& w, const float* x, int64_t n_tok, float* y, ThreadPool& pool) {
    const DType act = vec_dot_type(w.type);
    const size_t act_row = row_bytes(act, w.cols);
    // Activations are converted once per call, not once per weight row.
    thread_local std::vector<uint8_t> xq;
    xq.resize(act_row * static_cast<size_t>(n_tok));
    uint8_t* xq_data = xq.data();
    pool.parallel_for(n_tok, 1, [&](int64_t b, int64_t e) {
        for (int64_t t = b; t < e; ++t) quantize_activation(act, x + t * w.cols, xq_data + t * act_row, w.cols);
    });
    pool.parallel_for(w.rows, 16, [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
            const uint8_t* wr = w.row(r);
            for (int64_t t = 0; t < n_tok; ++t) y[t * w.rows + r] = vec_dot_ref(w.type, w.cols, wr, xq_data + t * act_row);
        }
    });
}

void get_row(const MatRef& m, int64_t r, float* out) { dequantize_row(m.type, m.row(r), out, m.cols); }

void rmsnorm(const float* x, const float* w, float* y, int64_t n, float eps) {
    double ss = 0;
    for (int64_t i = 0; i < n; ++i) ss += double(x[i]) * x[i];
    const float scale = static_cast<float>(1.0 / std::sqrt(ss / double(n) + eps));
    if (w)
        for (int64_t i = 0; i < n; ++i) y[i] = x[i] * scale * w[i];
    else
        for (int64_t i = 0; i < n; ++i) y[i] = x[i] * scale;
}

void softmax(float* x, int64_t n) {
    float mx = -INFINITY;
    for (int64_t i = 0; i < n; ++i) mx = std::max(mx, x[i]);
    double sum = 0;
    for (int64_t i = 0; i < n; ++i) {
        x[i] = std::exp(x[i] - mx);
        sum += x[i];
    }
    const float inv = static_cast<float>(1.0 / sum);
    for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

namespace {

// exp(x) by range reduction to 2^n * p(b), |b| <= ln2/2, with a degree-5 polynomial (the
// single-precision routine from Arm's optimized-routines, max error about 1.5 ulp). Every step is a
// single fused multiply-add or an exact operation, so a SIMD lane computes the same bits.
float exp_poly(float x) {
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

}  // namespace

// SiLU(gate) * up. Whole groups of 16 use the polynomial exp, the tail the C library's expf: the
// same split llama.cpp's AVX-512 build makes, so activations round identically.
void swiglu(const float* gate, const float* up, float* out, int64_t n) {
    const int64_t bulk = n - n % 16;
    for (int64_t i = 0; i < bulk; ++i) {
        const float g = gate[i];
        out[i] = g / (1.0f + exp_poly(-g)) * up[i];
    }
    for (int64_t i = bulk; i < n; ++i) {
        const float g = gate[i];
        out[i] = g / (1.0f + std::exp(-g)) * up[i];
    }
}

void geglu(const float* gate, const float* up, float* out, int64_t n) {
    constexpr float kSqrt2OverPi = 0.79788456080286535587989211986876f;
    for (int64_t i = 0; i < n; ++i) {
        float g = gate[i];
        out[i] = 0.5f * g * (1.0f + std::tanh(kSqrt2OverPi * g * (1.0f + 0.044715f * g * g))) * up[i];
    }
}

const char* kernel_family() { return "scalar"; }

}  // namespace kinglet
