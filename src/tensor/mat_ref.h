// A view of a row-major matrix in its stored type (a GGUF 2-D tensor with ne = [cols, rows]).
#pragma once
#include <cstddef>
#include <cstdint>

#include "tensor/dtype.h"

namespace kinglet {

// How a matrix's rows are stored. kPlain: one row after another, as in the file. kRows16 (Q8_0 and
// K-quants; made at load time for the kernel families that want it; tensor/rows16.h): groups of 16 rows
// interleaved so that a kernel has one row per 32-bit lane, each group as many bytes as its 16 plain rows.
enum class Layout : uint8_t { kPlain, kRows16 };

struct MatRef {
    DType type = DType::F32;
    const void* data = nullptr;
    int64_t cols = 0;
    int64_t rows = 0;
    size_t row_bytes = 0;
    Layout layout = Layout::kPlain;
    // Row r of a plain matrix; for kRows16, where row r's group starts when r is a multiple of 16.
    const uint8_t* row(int64_t r) const { return static_cast<const uint8_t*>(data) + r * row_bytes; }
    // Rows r0 .. r0 + n - 1 as a matrix of their own (a fused tensor's parts; for kRows16, r0 is a
    // multiple of 16).
    MatRef slice_rows(int64_t r0, int64_t n) const { return {type, row(r0), cols, n, row_bytes, layout}; }
};

}  // namespace kinglet
