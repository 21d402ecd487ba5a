// The numeric operations the forward pass is made of. Matrix products take weights in their stored
// type; activations are float rows, converted inside matmul to the weight type's companion format
// (tensor/dot.h). This header is the one dispatch point: the kernel family (scalar, AVX2, AVX-512) is
// chosen once, behind it (tensor/kernels/kernels.h).
#pragma once
#include <cstddef>
#include <cstdint>

#include "core/thread_pool.h"
#include "tensor/attention_args.h"
#include "tensor/dtype.h"
#include "tensor/mat_ref.h"

namespace kinglet {

// y[t*rows + r] = sum_k W[r][k] * x[t*cols + k] for t < n_tok, r < rows.
void matmul(const MatRef& w, const float* x, int64_t n_tok, float* y, ThreadPool& pool);

// Several products of the same input (the query, key and value projections; gate and up): the same
// results as one matmul per pair, in one job for the pool, with the input converted once per
// activation format. Every matrix must have x's width (cols).
struct MatmulOut {
    const MatRef* w;
    float* y;
};
void matmul(const MatmulOut* outs, int n, const float* x, int64_t n_tok, ThreadPool& pool);

// Row r of m as floats (embedding lookup).
void get_row(const MatRef& m, int64_t r, float* out);

// y = x / sqrt(mean(x^2) + eps) * w  (w may be null: no weight). x and y may alias.
void rmsnorm(const float* x, const float* w, float* y, int64_t n, float eps);
// rmsnorm of `rows` consecutive rows of n (x and y may alias), each row's result bit-identical to
// rmsnorm's; rows go four at a time so that their sequential sums of squares overlap.
void rmsnorm_rows(const float* x, const float* w, float* y, int64_t rows, int64_t n, float eps);

// Rotary embedding of n_heads rows of head_dim floats in place (kernels.h Family::rope).
void rope_rows(float* x, int n_heads, int head_dim, int n_rot, const float* cos, const float* sin, bool neox);

// In-place softmax over n values; returns nothing, max-subtracted for stability.
void softmax(float* x, int64_t n);

// The largest of n floats, NaNs skipped (-inf when there is none).
float max_value(const float* x, int64_t n);

// Softmax weights over a vocabulary row: w[i] = exp((x[i] - mx) * scale), 0 where that argument is NaN
// or -inf; returns their sum. A vectorised exp accurate to 2.5e-7 relative (kernels.h exp_weights), the
// same bits in every kernel family, so a seeded draw picks the same token on every machine.
double exp_weights(const float* x, float* w, int64_t n, float mx, float scale);

// out[i] = silu(gate[i]) * up[i]  and the GELU variant (tanh approximation with ggml's F16 rounding of
// its input and result: llama.cpp's CPU GELU).
void swiglu(const float* gate, const float* up, float* out, int64_t n);
void geglu(const float* gate, const float* up, float* out, int64_t n);

// Attention of one query row (head_dim floats) over positions first_pos..n_pos-1 of one key/value head:
// out (head_dim_v floats) = softmax(scale * q.k) . v, with llama.cpp's CPU flash-attention arithmetic
// for the cache's type (see tensor/kernels/scalar/attention.cpp).
void attention(const AttentionArgs& args, const float* q, float* out);
// The same for n_q query rows sharing one key/value head (grouped-query attention: row i at
// q + i * q_stride, its output at out + i * out_stride): equal to n_q calls of attention(), with every
// key and value row read once for the group.
void attention_group(const AttentionArgs& args, int n_q, const float* q, size_t q_stride, float* out,
                     size_t out_stride);

// n floats as one KV cache row of type kv (F32: a copy; F16: rounded to nearest even; Q8_0: n a
// multiple of 32, quantized as llama.cpp's x86 build stores a q8_0 cache, i.e. with its runtime
// quantizer: scale max|x| / 127, levels rounded half to even).
void to_kv_row(DType kv, const float* x, void* dst, int64_t n);

// Which kernel family is in use ("scalar", "avx2", "avx512"): the widest the CPU runs, or a lower one
// forced by KINGLET_KERNELS=scalar|avx2|avx512.
const char* kernel_family();

}  // namespace kinglet
