// Scalar reference dot products: one weight row (in its stored type) against one activation row
// already converted to the weight type's companion format, as ggml pairs them:
//   F32·F32, F16·F16, BF16·BF16, Q4_0/Q5_0/Q8_0/IQ4_NL·Q8_0, Q4_1/Q5_1·Q8_1,
//   Q2_K/Q3_K/Q4_K/Q5_K/Q6_K/IQ4_XS·Q8_K (the low-bit ones in dot_lowbit.cpp).
// These are the truth every SIMD kernel is tested against; they are written for clarity, not speed.
// Quantized pairs sum integer products per block exactly and scale them once per block; the float
// pairs multiply in float and sum in double. Q8_1 stores d * (sum of its levels) as fp16, so
// activations whose block sums exceed 65504 make the Q4_1/Q5_1 dot infinite, exactly as in ggml.
#pragma once
#include <cstddef>
#include <cstdint>

#include "tensor/dtype.h"

namespace kinglet {

// The activation format `weight` is dotted with.
DType vec_dot_type(DType weight);

// Converts n floats to the activation format `act` (F32 copy, F16, BF16, Q8_0, Q8_1, Q8_K).
void quantize_activation(DType act, const float* x, void* y, int64_t n);

// Dot product of n elements: `w` in type `weight`, `a` in vec_dot_type(weight).
float vec_dot_ref(DType weight, int64_t n, const void* w, const void* a);

// Q8_0 against Q8_0 in the lane order of the other 32-element types (llama.cpp's), which the Q8_0 KV
// cache's key dots keep; vec_dot_ref's Q8_0 weights sum each block as one integer (dot.cpp).
float dot_q8_0_lanes(int64_t n, const void* k, const void* q);

}  // namespace kinglet
