// Arguments of the attention kernel: one query row against the keys and values of one head, stored
// in a paged cache (blocks of positions, in the order a block table lists them).
#pragma once
#include <cstddef>
#include <cstdint>

#include "tensor/dtype.h"

namespace kinglet {

// Rows of a paged cache: position p lives in block table[p / block_rows], row p % block_rows, at
// base + table[p / block_rows] * block_stride + (p % block_rows) * row_bytes.
struct PagedRows {
    const uint8_t* base = nullptr;
    const int32_t* table = nullptr;
    size_t block_stride = 0;
    int block_rows = 0;
    const uint8_t* row(int p, size_t row_bytes) const {
        return base + size_t(table[p / block_rows]) * block_stride + size_t(p % block_rows) * row_bytes;
    }
};

struct AttentionArgs {
    // F32, F16 or Q8_0 (rows of head_dim / 32 block_q8_0; head_dim and head_dim_v multiples of 32).
    DType kv_type = DType::F16;
    int head_dim = 0, head_dim_v = 0;
    // The query attends to positions first_pos .. n_pos - 1 (first_pos > 0: a sliding window). Positions
    // before first_pos are skipped, exactly as llama.cpp's flash attention skips a -inf mask entry.
    int first_pos = 0;
    int n_pos = 0;
    PagedRows k, v;
    float scale = 1.0f;
    float softcap = 0.0f;  // > 0: scores are softcap * tanh(q.k * (scale / softcap)), as ggml computes them
};

}  // namespace kinglet
