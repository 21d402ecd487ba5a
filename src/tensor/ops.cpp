#include "tensor/ops.h"

#include <array>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "tensor/dot.h"
#include "tensor/fp16.h"
#include "tensor/kernels/kernels.h"
#include "tensor/quant.h"
#include "tensor/rows16.h"

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

// Rows are claimed by threads in chunks. Many tokens (prefill): chunks of 64 rows (each chunk packs the
// activations again, so not smaller). One token (decode) or a few (batched decode, up to kernels::kStreamTokens):
// the product streams weights, and a thread streams fastest on one long run of consecutive rows
// (kernels/x86/common.h kDecodePrefetch), so chunks are guided: each is 1/(2 x threads) of the rows
// still unclaimed, in order — the first few are long runs, the last are short enough that a thread
// finishing early (or one the OS held up) leaves little behind (with fixed 64-row chunks, a thread
// waited on average half a chunk at the end of every product: ~150 products per step of 8 tokens).
// Below kSerialWork multiply-adds a job runs on the calling thread, where waking the pool would cost
// more than it saves.
constexpr int64_t kDecodeMinRows = 32, kPrefillChunkRows = 64, kMaxChunks = 128;
constexpr int64_t kSerialWork = 1 << 16;
constexpr int64_t kSerialQuantize = 1 << 15;  // elements
constexpr int kMaxOuts = 4;

}  // namespace

void matmul(const MatRef& w, const float* x, int64_t n_tok, float* y, ThreadPool& pool) {
    const MatmulOut out{&w, y};
    matmul(&out, 1, x, n_tok, pool);
}

void matmul(const MatmulOut* outs, int n, const float* x, int64_t n_tok, ThreadPool& pool) {
    if (n < 1 || n > kMaxOuts) fail(Errc::internal, "matmul of {} products (1..{})", n, kMaxOuts);
    const kernels::Family& K = kernels::active();
    const int64_t cols = outs[0].w->cols;
    int64_t total_rows = 0;
    for (int i = 0; i < n; ++i) {
        const MatRef& w = *outs[i].w;
        const DType act = vec_dot_type(w.type);
        if (w.cols != cols) fail(Errc::internal, "fused matmul of widths {} and {}", cols, w.cols);
        if (w.cols % dtype_info(w.type).block_size != 0 || w.cols % dtype_info(act).block_size != 0)
            fail(Errc::invalid_argument, "matrix of {} with rows of {} elements: not a whole number of blocks",
                 dtype_name(w.type), w.cols);
        total_rows += w.rows;
    }
    if (n_tok <= 0 || total_rows <= 0) return;

    // Activations are converted once per format and call, not once per weight row or product.
    struct Job {
        kernels::GemmFn gemm;
        const void* a;
        size_t act_row;
    };
    Job jobs[kMaxOuts];
    thread_local std::vector<uint8_t> xq[kMaxOuts];
    DType done_types[kMaxOuts];
    int n_done = 0;
    for (int i = 0; i < n; ++i) {
        const MatRef& w = *outs[i].w;
        const DType act = vec_dot_type(w.type);
        jobs[i].gemm = K.gemm[static_cast<uint32_t>(w.type) < 40 ? int(w.type) : 0];
        jobs[i].act_row = row_bytes(act, cols);
        jobs[i].a = x;
        if (act == DType::F32) continue;
        int slot = 0;
        while (slot < n_done && done_types[slot] != act) ++slot;
        if (slot == n_done) {
            done_types[n_done++] = act;
            const size_t act_row = jobs[i].act_row;
            xq[slot].resize(act_row * static_cast<size_t>(n_tok));
            uint8_t* xq_data = xq[slot].data();
            const kernels::QuantizeFn q = quantizer(K, act);
            if (n_tok * cols <= kSerialQuantize) {  // a few rows: a parallel job costs more than the work
                for (int64_t t = 0; t < n_tok; ++t) q(x + t * cols, xq_data + t * act_row, cols);
            } else {
                pool.parallel_for(n_tok, 1, [&](int64_t b, int64_t e) {
                    for (int64_t t = b; t < e; ++t) q(x + t * cols, xq_data + t * act_row, cols);
                });
            }
        }
        jobs[i].a = xq[slot].data();
    }

    if (total_rows * cols * n_tok < kSerialWork) {
        for (int i = 0; i < n; ++i)
            jobs[i].gemm(*outs[i].w, 0, outs[i].w->rows, jobs[i].a, jobs[i].act_row, n_tok, outs[i].y, outs[i].w->rows);
        return;
    }
    if (n_tok > kernels::kStreamTokens) {
        int64_t first[kMaxOuts], n_chunks = 0;
        for (int i = 0; i < n; ++i) {
            first[i] = n_chunks;
            n_chunks += (outs[i].w->rows + kPrefillChunkRows - 1) / kPrefillChunkRows;
        }
        pool.parallel_chunks(n_chunks, [&](int64_t c) {
            int i = n - 1;
            while (c < first[i]) --i;
            const MatRef& w = *outs[i].w;
            const int64_t r0 = (c - first[i]) * kPrefillChunkRows;
            const int64_t r1 = r0 + kPrefillChunkRows < w.rows ? r0 + kPrefillChunkRows : w.rows;
            jobs[i].gemm(w, r0, r1, jobs[i].a, jobs[i].act_row, n_tok, outs[i].y, w.rows);
        });
        return;
    }
    // Decode and small batches: guided chunks as (job, first row, end row), in the order they are
    // claimed; a chunk never spans two products. Chunk ends are multiples of 16 rows, so no two threads
    // write one cache line of the output.
    struct Chunk {
        int job;
        int64_t r0, r1;
    };
    std::array<Chunk, kMaxChunks> chunks;
    int64_t n_chunks = 0;
    const int64_t spread = 2 * int64_t(pool.size());
    int64_t left = total_rows;
    for (int i = 0; i < n; ++i) {
        const int64_t rows = outs[i].w->rows;
        for (int64_t r0 = 0; r0 < rows;) {
            int64_t size = (left / spread + 15) / 16 * 16;
            if (size < kDecodeMinRows) size = kDecodeMinRows;
            if (n_chunks == kMaxChunks - (n - i)) size = rows - r0;  // the array is full: the rest in one
            const int64_t r1 = r0 + size < rows ? r0 + size : rows;
            chunks[size_t(n_chunks++)] = {i, r0, r1};
            left -= r1 - r0;
            r0 = r1;
        }
    }
    pool.parallel_chunks(n_chunks, [&](int64_t c) {
        const Chunk& ch = chunks[size_t(c)];
        const MatRef& w = *outs[ch.job].w;
        jobs[ch.job].gemm(w, ch.r0, ch.r1, jobs[ch.job].a, jobs[ch.job].act_row, n_tok, outs[ch.job].y, w.rows);
    });
}

void get_row(const MatRef& m, int64_t r, float* out) {
    thread_local std::vector<uint8_t> buf;  // a kRows16 row, taken out of its group
    dequantize_row(m.type, plain_row(m, r, buf), out, m.cols);
}

// ggml's order: float squares summed in double, the mean rounded to float, the scale in float.
void rmsnorm(const float* x, const float* w, float* y, int64_t n, float eps) {
    double ss = 0;
    for (int64_t i = 0; i < n; ++i) ss += double(x[i] * x[i]);
    const float mean = static_cast<float>(ss / double(n));
    const float scale = 1.0f / std::sqrt(mean + eps);
    if (w)
        for (int64_t i = 0; i < n; ++i) y[i] = x[i] * scale * w[i];
    else
        for (int64_t i = 0; i < n; ++i) y[i] = x[i] * scale;
}

void rmsnorm_rows(const float* x, const float* w, float* y, int64_t rows, int64_t n, float eps) {
    int64_t r = 0;
    // One sum of squares is a chain of dependent double additions (ggml's order), so a single row runs at
    // the latency of an addition per element; four independent chains run at about the throughput.
    for (; r + 4 <= rows; r += 4) {
        const float* x0 = x + r * n;
        double ss[4] = {0, 0, 0, 0};
        for (int64_t i = 0; i < n; ++i)
            for (int k = 0; k < 4; ++k) ss[k] += double(x0[k * n + i] * x0[k * n + i]);
        for (int k = 0; k < 4; ++k) {
            const float mean = static_cast<float>(ss[k] / double(n));
            const float scale = 1.0f / std::sqrt(mean + eps);
            const float* xr = x0 + k * n;
            float* yr = y + (r + k) * n;
            if (w)
                for (int64_t i = 0; i < n; ++i) yr[i] = xr[i] * scale * w[i];
            else
                for (int64_t i = 0; i < n; ++i) yr[i] = xr[i] * scale;
        }
    }
    for (; r < rows; ++r) rmsnorm(x + r * n, w, y + r * n, n, eps);
}

void rope_rows(float* x, int n_heads, int head_dim, int n_rot, const float* cos, const float* sin, bool neox) {
    kernels::active().rope(x, n_heads, head_dim, n_rot, cos, sin, neox);
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

float max_value(const float* x, int64_t n) { return kernels::active().max(x, n); }

double exp_weights(const float* x, float* w, int64_t n, float mx, float scale) {
    return kernels::active().exp_weights(x, w, n, mx, scale);
}

void swiglu(const float* gate, const float* up, float* out, int64_t n) { kernels::active().swiglu(gate, up, out, n); }

// ggml's CPU GELU (GGML_GELU_FP16): the input rounded to F16, the tanh formula's result for that F16
// value rounded to F16 (its lookup table), 0 at or below -10 and the identity at or above 10.
void geglu(const float* gate, const float* up, float* out, int64_t n) {
    static const std::vector<float> table = [] {
        constexpr float kSqrt2OverPi = 0.79788456080286535587989211986876f;
        std::vector<float> t(65536);
        for (uint32_t h = 0; h < 65536; ++h) {
            const float x = fp16_to_fp32(uint16_t(h));
            t[h] = fp16_to_fp32(fp32_to_fp16(0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * x * (1.0f + 0.044715f * x * x)))));
        }
        return t;
    }();
    for (int64_t i = 0; i < n; ++i) {
        const float g = gate[i];
        const float a = g <= -10.0f ? 0.0f : g >= 10.0f ? g : table[fp32_to_fp16(g)];
        out[i] = a * up[i];
    }
}

void attention(const AttentionArgs& args, const float* q, float* out) { kernels::active().attention(args, q, out); }

void attention_group(const AttentionArgs& args, int n_q, const float* q, size_t q_stride, float* out,
                     size_t out_stride) {
    kernels::active().attention_group(args, n_q, q, q_stride, out, out_stride);
}

void to_kv_row(DType kv, const float* x, void* dst, int64_t n) {
    switch (kv) {
        case DType::F32:
            std::memcpy(dst, x, size_t(n) * 4);
            return;
        case DType::F16:
            return kernels::active().to_f16(x, dst, n);
        case DType::Q8_0:
            return kernels::active().quantize_q8_0(x, dst, n);
        default:
            fail(Errc::internal, "{} is not a KV cache type", dtype_name(kv));
    }
}

const char* kernel_family() { return kernels::active().name; }

}  // namespace kinglet
