// The scalar family's matrix product: one reference dot product per (row, token).
#include <vector>

#include "tensor/dot.h"
#include "tensor/kernels/kernels.h"
#include "tensor/ops.h"
#include "tensor/rows16.h"

namespace kinglet::kernels {

void gemm_ref(const MatRef& w, int64_t r0, int64_t r1, const void* a, size_t a_stride, int64_t n_tok, float* y,
              int64_t ldy) {
    const auto* act = static_cast<const uint8_t*>(a);
    thread_local std::vector<uint8_t> plain;  // a kRows16 row, taken out of its group
    for (int64_t r = r0; r < r1; ++r) {
        const uint8_t* wr = plain_row(w, r, plain);
        for (int64_t t = 0; t < n_tok; ++t) y[t * ldy + r] = vec_dot_ref(w.type, w.cols, wr, act + t * a_stride);
    }
}

}  // namespace kinglet::kernels
