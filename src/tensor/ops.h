// The numeric operations the forward pass is made of. Matrix products take weights in their stored
// type; activations are float rows, converted inside matmul to the weight type's companion format
// (tensor/dot.h). This header is the one dispatch point: SIMD kernels plug in behind it.
#pragma once
#include <cstddef>
#include <cstdint>

#include "core/thread_pool.h"
#include "tensor/dtype.h"

namespace kinglet {

// A row-major matrix of `rows` rows of `cols` elements in a stored type (a GGUF 2-D tensor with
// ne = [cols, rows]).
struct MatRef {
    DType type = DType::F32;
    const void* data = nullptr;
    int64_t cols = 0;
    int64_t rows = 0;
    size_t row_bytes = 0;
    const uint8_t* row(int64_t r) const { return static_cast<const uint8_t*>(data) + r * row_bytes; }
};

// y[t*rows + r] = sum_k W[r][k] * x[t*cols + k] for t < n_tok, r < rows.
void matmul(const MatRef& w, const float* x, int64_t n_tok, float* y, ThreadPool& pool);

// Row r of m as floats (embedding lookup).
void get_row(const MatRef& m, int64_t r, float* out);

// y = x / sqrt(mean(x^2) + eps) * w  (w may be null: no weight). x and y may alias.
void rmsnorm(const float* x, const float* w, float* y, int64_t n, float eps);

// In-place softmax over n values; returns nothing, max-subtracted for stability.
void softmax(float* x, int64_t n);

// out[i] = silu(gate[i]) * up[i]  and the GELU (tanh approximation, as ggml) variant.
void swiglu(const float* gate, const float* up, float* out, int64_t n);
void geglu(const float* gate, const float* up, float* out, int64_t n);

// Which kernel family is in use ("scalar", "avx2", "avx512"); KINGLET_KERNELS=scalar forces scalar.
const char* kernel_family();

}  // namespace kinglet
