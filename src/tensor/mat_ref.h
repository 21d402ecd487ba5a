// A view of a row-major matrix in its stored type (a GGUF 2-D tensor with ne = [cols, rows]).
#pragma once
#include <cstddef>
#include <cstdint>

#include "tensor/dtype.h"

namespace kinglet {

struct MatRef {
    DType type = DType::F32;
    const void* data = nullptr;
    int64_t cols = 0;
    int64_t rows = 0;
    size_t row_bytes = 0;
    const uint8_t* row(int64_t r) const { return static_cast<const uint8_t*>(data) + r * row_bytes; }
    // Rows r0 .. r0 + n - 1 as a matrix of their own (a fused tensor's parts).
    MatRef slice_rows(int64_t r0, int64_t n) const { return {type, row(r0), cols, n, row_bytes}; }
};

}  // namespace kinglet
