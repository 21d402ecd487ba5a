// Conversion between float rows and every computable block type, bit-exact to ggml's reference
// ("_ref", no importance matrix) quantizers, so a file kinglet writes is byte-identical to what
// llama.cpp's quantizer writes for the same float data.
#pragma once
#include <cstdint>

#include "tensor/dtype.h"

namespace kinglet {

// n must be a multiple of the type's block size (else Error(invalid_argument)). Throws
// Error(unsupported) for a type kinglet cannot convert (e.g. IQ types), naming the type.
// Convertible: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K, and the activation
// formats Q8_1 and Q8_K (quantize_row on those is the same as the functions below). Q2_K, Q3_K, IQ4_NL
// and IQ4_XS are dequantized only (can_quantize is false for them).
void dequantize_row(DType t, const void* src, float* dst, int64_t n);
void quantize_row(DType t, const float* src, void* dst, int64_t n);
bool can_quantize(DType t);
bool can_dequantize(DType t);

// Activation formats used by the integer dot products (not stored in model files).
void quantize_row_q8_0(const float* x, BlockQ8_0* y, int64_t n);
void quantize_row_q8_1(const float* x, BlockQ8_1* y, int64_t n);
void quantize_row_q8_K(const float* x, BlockQ8_K* y, int64_t n);

}  // namespace kinglet
