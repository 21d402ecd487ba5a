// The entry points each x86 family defines (one set per family, in the family's namespace); family.inc
// puts them in the family's table.
#pragma once
#include "tensor/kernels/kernels.h"
#include "tensor/kernels/x86/common.h"

namespace kinglet::kernels::KINGLET_ISA {

#define KINGLET_GEMM_ENTRY(name)                                                                             \
    void name(const MatRef& w, int64_t r0, int64_t r1, const void* a, size_t a_stride, int64_t n_tok, float* y, \
              int64_t ldy)
KINGLET_GEMM_ENTRY(gemm_q4_0);
KINGLET_GEMM_ENTRY(gemm_q4_1);
KINGLET_GEMM_ENTRY(gemm_q5_0);
KINGLET_GEMM_ENTRY(gemm_q5_1);
KINGLET_GEMM_ENTRY(gemm_q8_0);
KINGLET_GEMM_ENTRY(gemm_q4_K);
KINGLET_GEMM_ENTRY(gemm_q5_K);
KINGLET_GEMM_ENTRY(gemm_q6_K);
KINGLET_GEMM_ENTRY(gemm_q2_K);
KINGLET_GEMM_ENTRY(gemm_q3_K);
KINGLET_GEMM_ENTRY(gemm_iq4_xs);
KINGLET_GEMM_ENTRY(gemm_iq4_nl);
KINGLET_GEMM_ENTRY(gemm_f32);
KINGLET_GEMM_ENTRY(gemm_f16);
KINGLET_GEMM_ENTRY(gemm_bf16);
// BF16 widened to float and FMA, without AVX512-BF16 (gemm_bf16 in the AVX2 family; dispatch.cpp puts it
// in the AVX-512 family's table on CPUs with AVX-512 VNNI but not AVX512-BF16: Cascade Lake, Ice Lake).
KINGLET_GEMM_ENTRY(gemm_bf16_widen);

void quantize_q8_0(const float* x, void* y, int64_t n);
void quantize_q8_1(const float* x, void* y, int64_t n);
void quantize_q8_K(const float* x, void* y, int64_t n);
void to_f16(const float* x, void* y, int64_t n);
void swiglu(const float* gate, const float* up, float* out, int64_t n);
void attention(const AttentionArgs& args, const float* q, float* out);
void attention_group(const AttentionArgs& args, int n_q, const float* q, size_t q_stride, float* out, size_t out_stride);
double exp_weights(const float* x, float* w, int64_t n, float mx, float scale);
float max(const float* x, int64_t n);
void rope(float* x, int n_heads, int head_dim, int n_rot, const float* cos, const float* sin, bool neox);

}  // namespace kinglet::kernels::KINGLET_ISA
