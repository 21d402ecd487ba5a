// Google Benchmark micro-benchmarks of the kernels, for every family this CPU runs:
//   gemm/<family>/<type>/<decode,batch8,prefill>-<rows>x<cols>/threads:N[/rows16]   weights bytes/s and
//   multiply-adds/s (/rows16: in groups of 16 rows, tensor/rows16.h, for the families that use them)
//   quantize, swiglu, attention.
// The decode shapes cycle through several matrices bigger than the last-level cache together, so they
// measure streaming from memory as a real forward pass does; the prefill shapes are compute-bound.
// Small batches (batch2/4/8) stream their weights from memory as decode does; KINGLET_BENCH_CACHED=1 makes
// them reuse one matrix instead (what the kernel computes when nothing waits on memory).
//   kernels_bench [--benchmark_filter=REGEX] [--benchmark_min_time=0.5]
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "tensor/dot.h"
#include "tensor/fp16.h"
#include "tensor/kernels/kernels.h"
#include "tensor/ops.h"
#include "tensor/quant.h"
#include "tensor/rows16.h"

using namespace kinglet;

namespace {

std::vector<float> random_floats(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> g(0.0f, 1.0f);
    std::vector<float> x(n);
    for (auto& v : x) v = g(rng);
    return x;
}

// Rows of a type kinglet reads but does not write (Q2_K, Q3_K, IQ4_NL, IQ4_XS): random bytes, with every
// fp16 block scale set to a small normal value (speed does not depend on the levels).
void random_blocks(DType t, std::vector<uint8_t>& rows) {
    std::mt19937 rng(11);
    for (auto& b : rows) b = uint8_t(rng());
    size_t off[2] = {0, 0}, nf = 1;
    if (t == DType::Q2_K) off[0] = 80, off[1] = 82, nf = 2;
    if (t == DType::Q3_K) off[0] = 108;
    const size_t bb = dtype_info(t).block_bytes;
    const uint16_t h = fp32_to_fp16(0.01f);
    for (size_t b = 0; b + bb <= rows.size(); b += bb)
        for (size_t f = 0; f < nf; ++f) std::memcpy(rows.data() + b + off[f], &h, 2);
}

// `copies` matrices of rows x cols in type t (random weights), to cycle through.
struct Weights {
    std::vector<std::vector<uint8_t>> data;
    std::vector<MatRef> mats;
    Weights(DType t, int64_t rows, int64_t cols, int copies) {
        // 64 distinct quantized rows, repeated (quantizing hundreds of MiB of K-quants takes minutes).
        const size_t rb = row_bytes(t, cols);
        const auto x = random_floats(size_t(cols) * 64, 1);
        std::vector<uint8_t> proto(rb * 64);
        if (can_quantize(t)) {
            for (int64_t r = 0; r < 64; ++r) quantize_row(t, x.data() + r * cols, proto.data() + r * rb, cols);
        } else {
            random_blocks(t, proto);
        }
        for (int c = 0; c < copies; ++c) {
            data.emplace_back(rb * rows);
            for (int64_t r = 0; r < rows; ++r) std::memcpy(data.back().data() + r * rb, proto.data() + (r % 64) * rb, rb);
            mats.push_back(MatRef{t, data.back().data(), cols, rows, rb});
        }
    }
};

void gemm_bench(benchmark::State& st, const kernels::Family* f, DType t, int64_t rows, int64_t cols,
                int64_t n_tok, int threads, bool grouped) {
    // About 256 MiB of weights per decode or small-batch benchmark, so nothing stays cached between calls
    // (a forward pass of a few tokens streams its weights from memory too).
    const size_t mat_bytes = row_bytes(t, cols) * rows;
    const int copies = n_tok <= 16 && !std::getenv("KINGLET_BENCH_CACHED") ? int(std::max<size_t>(1, (256u << 20) / mat_bytes)) : 1;
    Weights w(t, rows, cols, copies);
    if (grouped)  // in groups of 16 rows, as the loader stores them for this family (tensor/rows16.h)
        for (int c = 0; c < copies; ++c) {
            std::vector<uint8_t> g(w.data[size_t(c)].size());
            w.mats[size_t(c)] = repack_rows16(w.mats[size_t(c)], g.data());
            w.data[size_t(c)].swap(g);
        }
    const DType at = vec_dot_type(t);
    const size_t act_row = row_bytes(at, cols);
    const auto x = random_floats(size_t(cols * n_tok), 2);
    std::vector<uint8_t> act(act_row * n_tok);
    for (int64_t i = 0; i < n_tok; ++i) quantize_activation(at, x.data() + i * cols, act.data() + i * act_row, cols);
    std::vector<float> y(size_t(rows * n_tok));
    ThreadPool pool(threads);
    const kernels::GemmFn g = f->gemm[int(t)];
    int c = 0;
    for (auto _ : st) {
        const MatRef& m = w.mats[c];
        c = (c + 1) % copies;
        // Chunks of rows as tensor/ops.cpp matmul hands them out.
        const int64_t unit = n_tok == 1 ? 16 : 64;
        pool.parallel_chunks((rows + unit - 1) / unit, [&](int64_t ch) {
            g(m, ch * unit, std::min(rows, (ch + 1) * unit), act.data(), act_row, n_tok, y.data(), rows);
        });
        benchmark::DoNotOptimize(y.data());
    }
    st.SetBytesProcessed(int64_t(st.iterations()) * int64_t(mat_bytes));
    st.counters["MAC/s"] =
        benchmark::Counter(double(rows) * double(cols) * double(n_tok), benchmark::Counter::kIsIterationInvariantRate);
}

void quantize_bench(benchmark::State& st, const kernels::Family* f, DType at, int64_t n) {
    const auto x = random_floats(size_t(n), 3);
    std::vector<uint8_t> out(row_bytes(at, n));
    const kernels::QuantizeFn q = at == DType::Q8_0 ? f->quantize_q8_0 : at == DType::Q8_1 ? f->quantize_q8_1
                                : at == DType::Q8_K ? f->quantize_q8_K : f->to_f16;
    for (auto _ : st) {
        q(x.data(), out.data(), n);
        benchmark::DoNotOptimize(out.data());
    }
    st.SetItemsProcessed(int64_t(st.iterations()) * n);
}

void swiglu_bench(benchmark::State& st, const kernels::Family* f, int64_t n) {
    const auto g = random_floats(size_t(n), 4), u = random_floats(size_t(n), 5);
    std::vector<float> out(n);
    for (auto _ : st) {
        f->swiglu(g.data(), u.data(), out.data(), n);
        benchmark::DoNotOptimize(out.data());
    }
    st.SetItemsProcessed(int64_t(st.iterations()) * n);
}

// One key/value head of n_pos positions and `heads` query heads over it: one attention() call per head
// (grouped = false) or one attention_group() call for them all.
void attention_bench(benchmark::State& st, const kernels::Family* f, DType kv, int hd, int n_pos, int heads,
                     bool grouped) {
    const int block_rows = 32, n_blocks = (n_pos + block_rows - 1) / block_rows;
    const size_t row = row_bytes(kv, hd), rows = size_t(n_blocks) * block_rows;
    std::vector<uint8_t> k(rows * row), v(rows * row);
    const auto kf = random_floats(rows * hd, 6), vf = random_floats(rows * hd, 7);
    for (size_t r = 0; r < rows; ++r) {
        if (kv == DType::Q8_0) {
            quantize_activation(kv, &kf[r * hd], &k[r * row], hd);
            quantize_activation(kv, &vf[r * hd], &v[r * row], hd);
        } else {
            quantize_row(kv, &kf[r * hd], &k[r * row], hd);
            quantize_row(kv, &vf[r * hd], &v[r * row], hd);
        }
    }
    std::vector<int32_t> table(n_blocks);
    for (int i = 0; i < n_blocks; ++i) table[i] = i;
    AttentionArgs a;
    a.kv_type = kv;
    a.head_dim = a.head_dim_v = hd;
    a.n_pos = n_pos;
    const size_t stride = size_t(block_rows) * row;
    a.k = {k.data(), table.data(), stride, block_rows};
    a.v = {v.data(), table.data(), stride, block_rows};
    a.scale = 0.125f;
    const auto q = random_floats(size_t(hd) * heads, 8);
    std::vector<float> out(size_t(hd) * heads);
    for (auto _ : st) {
        if (grouped) f->attention_group(a, heads, q.data(), size_t(hd), out.data(), size_t(hd));
        else
            for (int h = 0; h < heads; ++h) f->attention(a, &q[size_t(h) * hd], &out[size_t(h) * hd]);
        benchmark::DoNotOptimize(out.data());
    }
    st.SetItemsProcessed(int64_t(st.iterations()) * n_pos * heads);
}

// The sampler's pass over a vocabulary: softmax weights and their sum.
void exp_weights_bench(benchmark::State& st, const kernels::Family* f, int64_t n) {
    auto x = random_floats(size_t(n), 9);
    for (auto& e : x) e *= 8.0f;
    const float mx = f->max(x.data(), n);
    std::vector<float> w(static_cast<size_t>(n));
    for (auto _ : st) {
        double s = f->exp_weights(x.data(), w.data(), n, mx, 1.0f / 0.7f);
        benchmark::DoNotOptimize(s);
        benchmark::DoNotOptimize(w.data());
    }
    st.SetItemsProcessed(int64_t(st.iterations()) * n);
}

struct GemmShape {
    const char* what;
    int64_t rows, cols, n_tok;
};

}  // namespace

int main(int argc, char** argv) {
    const int threads = default_thread_count();
    for (const char* name : {"scalar", "avx2", "avx512"}) {
        const kernels::Family* f = kernels::family(name);
        if (!f) continue;
        const std::string fam = name;
        const GemmShape shapes[] = {
            {"decode-2048x2048", 2048, 2048, 1}, {"decode-8192x2048", 8192, 2048, 1},
            {"decode-512x2048", 512, 2048, 1},  // fits in L2: with KINGLET_BENCH_CACHED=1, the kernel's own speed
            {"decode-2048x8192", 2048, 8192, 1}, {"decode-1536x576", 1536, 576, 1},
            {"prefill-2048x2048", 2048, 2048, 128}, {"prefill-2048x8192", 2048, 8192, 128},
            {"prefill-1536x576", 1536, 576, 128}, {"batch8-2048x2048", 2048, 2048, 8},
            {"batch8-1536x576", 1536, 576, 8}, {"batch8-576x1536", 576, 1536, 8},
            {"batch4-1536x576", 1536, 576, 4}, {"batch2-1536x576", 1536, 576, 2},
        };
        for (DType t : {DType::Q8_0, DType::Q4_0, DType::Q5_0, DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::F16, DType::BF16, DType::F32, DType::Q2_K,
                        DType::Q3_K, DType::IQ4_NL, DType::IQ4_XS}) {
            for (const auto& s : shapes) {
                if (s.cols % dtype_info(t).block_size) continue;
                if (fam == "scalar" && s.n_tok > 1) continue;  // minutes per iteration
                for (int th : {1, threads}) {
                    if (th == threads && threads == 1) continue;
                    const std::string n = "gemm/" + fam + "/" + dtype_name(t) + "/" + s.what + "/threads:" + std::to_string(th);
                    for (bool grouped : {false, true}) {
                        if (grouped &&
                            !(f->wants_rows16(t) &&
                              can_repack_rows16(MatRef{t, nullptr, s.cols, s.rows, row_bytes(t, s.cols)})))
                            continue;
                        const std::string name = grouped ? n + "/rows16" : n;
                        benchmark::RegisterBenchmark(name.c_str(), gemm_bench, f, t, s.rows, s.cols, s.n_tok,
                                                     th, grouped)
                            ->Unit(benchmark::kMicrosecond)
                            ->UseRealTime();
                    }
                }
            }
        }
        for (DType at : {DType::Q8_0, DType::Q8_1, DType::Q8_K, DType::F16})
            benchmark::RegisterBenchmark(("quantize/" + fam + "/" + dtype_name(at) + "/2048").c_str(), quantize_bench, f,
                                         at, int64_t(2048));
        benchmark::RegisterBenchmark(("swiglu/" + fam + "/8192").c_str(), swiglu_bench, f, int64_t(8192));
        for (DType kv : {DType::F16, DType::Q8_0})
            for (int n_pos : {64, 512}) {
                const std::string n = "attention/" + fam + "/" + dtype_name(kv) + "/hd64/pos" + std::to_string(n_pos);
                benchmark::RegisterBenchmark((n + "/1-head").c_str(), attention_bench, f, kv, 64, n_pos, 1, false);
                benchmark::RegisterBenchmark((n + "/3-heads-one-by-one").c_str(), attention_bench, f, kv, 64, n_pos, 3,
                                             false);
                benchmark::RegisterBenchmark((n + "/3-heads-grouped").c_str(), attention_bench, f, kv, 64, n_pos, 3, true);
            }
        benchmark::RegisterBenchmark(("exp_weights/" + fam + "/49152").c_str(), exp_weights_bench, f, int64_t(49152));
    }
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
