#include "tensor/ops.h"

#include <cmath>
#include <vector>

#include "core/error.h"
#include "tensor/dot.h"
#include "tensor/kernels/kernels.h"
#include "tensor/quant.h"

namespace kinglet {
namespace {

kernels::QuantizeFn quantizer(const kernels::Family& k, DType act) {
    switch (act) {
        case DType::Q8_0:
            return k.quantize_q8_0;
        case DType::Q8_1:
            return k.quantize_q8_1;
        case DType::Q8_K:
            return k.quantize_q8_K;
        case DType::F16:
            return k.to_f16;
        default:
            return [](const float* x, void* y, int64_t n) { quantize_row(DType::BF16, x, y, n); };
    }
}

// Rows are claimed by threads in chunks: small ones for one token (a GEMV chunk of 16 rows is a few
// microseconds of streaming, fine-grained enough to balance), larger ones for many tokens (each chunk
// re-reads the activations, so fewer, bigger chunks). Below kSerialWork multiply-adds a product runs on
// the calling thread, where waking the pool would cost more than it saves.
constexpr int64_t kDecodeChunkRows = 16, kPrefillChunkRows = 64;
constexpr int64_t kSerialWork = 1 << 16;

}  // namespace

void matmul(const MatRef& w, const float* x, int64_t n_tok, float* y, ThreadPool& pool) {
    const kernels::Family& K = kernels::active();
    const DType act = vec_dot_type(w.type);
    const int64_t bs = dtype_info(w.type).block_size;
    if (w.cols % bs != 0 || w.cols % dtype_info(act).block_size != 0)
        fail(Errc::invalid_argument, "matrix of {} with rows of {} elements: not a whole number of blocks",
             dtype_name(w.type), w.cols);
    if (n_tok <= 0 || w.rows <= 0) return;
    const size_t act_row = row_bytes(act, w.cols);
    const void* a = x;
    if (act != DType::F32) {
        // Activations are converted once per call, not once per weight row.
        thread_local std::vector<uint8_t> xq;
        xq.resize(act_row * static_cast<size_t>(n_tok));
        uint8_t* xq_data = xq.data();
        const kernels::QuantizeFn q = quantizer(K, act);
        const int64_t cols = w.cols;
        if (n_tok == 1) {
            q(x, xq_data, cols);
        } else {
            pool.parallel_for(n_tok, 1, [&](int64_t b, int64_t e) {
                for (int64_t t = b; t < e; ++t) q(x + t * cols, xq_data + t * act_row, cols);
            });
        }
        a = xq_data;
    }
    const kernels::GemmFn gemm = K.gemm[static_cast<uint32_t>(w.type) < 40 ? int(w.type) : 0];
    if (w.rows * w.cols * n_tok < kSerialWork) {
        gemm(w, 0, w.rows, a, act_row, n_tok, y, w.rows);
        return;
    }
    const int64_t unit = n_tok == 1 ? kDecodeChunkRows : kPrefillChunkRows;
    pool.parallel_chunks((w.rows + unit - 1) / unit, [&](int64_t c) {
        const int64_t r0 = c * unit, r1 = r0 + unit < w.rows ? r0 + unit : w.rows;
        gemm(w, r0, r1, a, act_row, n_tok, y, w.rows);
    });
}

void get_row(const MatRef& m, int64_t r, float* out) { dequantize_row(m.type, m.row(r), out, m.cols); }

void rmsnorm(const float* x, const float* w, float* y, int64_t n, float eps) {
    double ss = 0;
    for (int64_t i = 0; i < n; ++i) ss += double(x[i]) * x[i];
    const float scale = static_cast<float>(1.0 / std::sqrt(ss / double(n) + eps));
    if (w)
        for (int64_t i = 0; i < n; ++i) y[i] = x[i] * scale * w[i];
    else
        for (int64_t i = 0; i < n; ++i) y[i] = x[i] * scale;
}

void softmax(float* x, int64_t n) {
    float mx = -INFINITY;
    for (int64_t i = 0; i < n; ++i) mx = std::max(mx, x[i]);
    double sum = 0;
    for (int64_t i = 0; i < n; ++i) {
        x[i] = std::exp(x[i] - mx);
        sum += x[i];
    }
    const float inv = static_cast<float>(1.0 / sum);
    for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

void swiglu(const float* gate, const float* up, float* out, int64_t n) { kernels::active().swiglu(gate, up, out, n); }

void geglu(const float* gate, const float* up, float* out, int64_t n) {
    constexpr float kSqrt2OverPi = 0.79788456080286535587989211986876f;
    for (int64_t i = 0; i < n; ++i) {
        float g = gate[i];
        out[i] = 0.5f * g * (1.0f + std::tanh(kSqrt2OverPi * g * (1.0f + 0.044715f * g * g))) * up[i];
    }
}

void attention(const AttentionArgs& args, const float* q, float* out) { kernels::active().attention(args, q, out); }

const char* kernel_family() { return kernels::active().name; }

}  // namespace kinglet
