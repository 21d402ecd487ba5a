// Kernel families: one table of function pointers per instruction set (scalar, AVX2, AVX-512), chosen
// once at start-up from the CPU's features (KINGLET_KERNELS=scalar|avx2|avx512 may force a lower one).
// ops.h is the only caller outside tensor/ and the tests. Every entry of a SIMD family computes exactly
// what the scalar family computes — bit for bit for the quantized types, the activation quantizers,
// SiLU and attention; to float rounding for F32/F16/BF16 weights — which tests/tensor checks.
#pragma once
#include <cstddef>
#include <cstdint>

#include "tensor/attention_args.h"
#include "tensor/dtype.h"
#include "tensor/mat_ref.h"

namespace kinglet::kernels {

// Rows [r0, r1) of `w` times n_tok activation rows `a` (already in vec_dot_type(w.type); row t starts
// at a + t * a_stride): y[t * ldy + r] for t < n_tok, r0 <= r < r1.
using GemmFn = void (*)(const MatRef& w, int64_t r0, int64_t r1, const void* a, size_t a_stride, int64_t n_tok,
                        float* y, int64_t ldy);

// Up to this many tokens a matrix product streams its weights: each row is read about once and comes
// from memory (decode, batched decode), so the kernels prefetch it and matmul hands rows to threads in
// long guided runs. Longer products (prefill) sweep panels of rows from L2 in fixed chunks.
constexpr int64_t kStreamTokens = 16;

// Converts n floats to an activation format (n a multiple of its block size).
using QuantizeFn = void (*)(const float* x, void* y, int64_t n);

struct Family {
    const char* name;
    // Activation quantizers (bit-identical across families).
    QuantizeFn quantize_q8_0, quantize_q8_1, quantize_q8_K, to_f16;
    // Indexed by DType value (every entry set; gemm_ref where the family has nothing faster).
    GemmFn gemm[40];
    // The types whose kernels want the weights in groups of 16 rows (Layout::kRows16, tensor/rows16.h):
    // dtype_bit(t) for DType t. Every family computes either layout.
    uint64_t rows16 = 0;
    bool wants_rows16(DType t) const { return (rows16 & dtype_bit(t)) != 0; }
    // out[i] = silu(gate[i]) * up[i] (bit-identical across families).
    void (*swiglu)(const float* gate, const float* up, float* out, int64_t n);
    // Attention of one query row: out[0..head_dim_v) (bit-identical across families).
    void (*attention)(const AttentionArgs& args, const float* q, float* out);
    // Attention of n_q query rows that share one key/value head (grouped-query attention): row i at
    // q + i * q_stride, its output at out + i * out_stride, each exactly what `attention` gives for it
    // (bit-identical across families); SIMD families read and convert every key and value row once
    // for the group.
    void (*attention_group)(const AttentionArgs& args, int n_q, const float* q, size_t q_stride, float* out,
                            size_t out_stride);
    // Softmax weights over a vocabulary: w[i] = exp((x[i] - mx) * scale) by exp_poly_ref (0 where that
    // argument is NaN, e.g. x[i] NaN; 0 for -inf), and their sum in double: 8 lanes, element i in lane
    // i % 8, the lanes added ((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7)) (bit-identical across
    // families). Relative error of each weight against std::exp of the same float argument: at most
    // 2.5e-7 for normal results (tests/tensor/kernels_test.cpp measures it).
    double (*exp_weights)(const float* x, float* w, int64_t n, float mx, float scale);
    // The largest of n floats, NaNs skipped; -inf when there is none (equal across families).
    float (*max)(const float* x, int64_t n);
    // Rotary embedding of n_heads rows of head_dim floats (in place): the first n_rot elements of each
    // row rotate by the angles whose cosines and sines are cos[i], sin[i] (n_rot / 2 of each), pairs
    // (2i, 2i + 1) or, with neox, (i, i + n_rot / 2): x = fma(a, c, -(b * s)), y = fma(a, s, b * c)
    // (ggml's order; bit-identical across families).
    void (*rope)(float* x, int n_heads, int head_dim, int n_rot, const float* cos, const float* sin, bool neox);
};

// The family in use (chosen on first call, then fixed).
const Family& active();
// A family by name if this build has it and this CPU runs it, else nullptr ("scalar" always exists).
const Family* family(const char* name);

// The scalar family's pieces, which the SIMD families reuse for what they do not specialise.
void gemm_ref(const MatRef& w, int64_t r0, int64_t r1, const void* a, size_t a_stride, int64_t n_tok, float* y,
              int64_t ldy);
void swiglu_ref(const float* gate, const float* up, float* out, int64_t n);
void attention_ref(const AttentionArgs& args, const float* q, float* out);
void attention_group_ref(const AttentionArgs& args, int n_q, const float* q, size_t q_stride, float* out,
                         size_t out_stride);
float exp_poly_ref(float x);
double exp_weights_ref(const float* x, float* w, int64_t n, float mx, float scale);
float max_ref(const float* x, int64_t n);
void rope_ref(float* x, int n_heads, int head_dim, int n_rot, const float* cos, const float* sin, bool neox);

// The AVX-512 family's BF16 product for CPUs without AVX512-BF16 (Cascade Lake, Ice Lake): BF16 widened to
// float, as the AVX2 family computes it. active() and family("avx512") put it in the table there; the
// tests call it directly. Only on CPUs that run the AVX-512 family.
namespace avx512 {
void gemm_bf16_widen(const MatRef& w, int64_t r0, int64_t r1, const void* a, size_t a_stride, int64_t n_tok,
                     float* y, int64_t ldy);
}

}  // namespace kinglet::kernels
