// Scalar reference dot products of the low-bit types (internal to tensor/; vec_dot_ref dispatches here):
// Q2_K, Q3_K and IQ4_XS against Q8_K activations, IQ4_NL against Q8_0, as ggml pairs them.
#pragma once
#include <cstdint>

#include "tensor/dtype.h"

namespace kinglet::detail {

// n is a whole number of blocks (vec_dot_ref checks); `a` is in vec_dot_type(weight).
float dot_lowbit(DType weight, int64_t n, const void* w, const void* a);

}  // namespace kinglet::detail
