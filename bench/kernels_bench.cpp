// Google Benchmark micro-benchmarks of the kernels, for every family this CPU runs:
//   gemm/<family>/<type>/<decode,batch8,prefill>-<rows>x<cols>[/threads N]   weights bytes/s and multiply-adds/s
//   quantize, swiglu, attention.
// The decode shapes cycle through several matrices bigger than the last-level cache together, so they
// measure streaming from memory as a real forward pass does; the prefill shapes are compute-bound.
//   kernels_bench [--benchmark_filter=REGEX] [--benchmark_min_time=0.5]
#include <benchmark/benchmark.h>

#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "tensor/dot.h"
#include "tensor/kernels/kernels.h"
#include "tensor/ops.h"
#include "tensor/quant.h"

using namespace kinglet;

namespace {

std::vector<float> random_floats(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> g(0.0f, 1.0f);
    std::vector<float> x(n);
    for (auto& v : x) v = g(rng);
    return x;
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
        for (int64_t r = 0; r < 64; ++r) quantize_row(t, x.data() + r * cols, proto.data() + r * rb, cols);
        for (int c = 0; c < copies; ++c) {
            data.emplace_back(rb * rows);
            for (int64_t r = 0; r < rows; ++r) std::memcpy(data.back().data() + r * rb, proto.data() + (r % 64) * rb, rb);
            mats.push_back(MatRef{t, data.back().data(), cols, rows, rb});
        }
    }
};

void gemm_bench(benchmark::State& st, const kernels::Family* f, DType t, int64_t rows, int64_t cols, int64_t n_tok,
                int threads) {
    // About 256 MiB of weights per decode benchmark, so nothing stays cached between calls.
    const size_t mat_bytes = row_bytes(t, cols) * rows;
    const int copies = n_tok == 1 ? int(std::max<size_t>(1, (256u << 20) / mat_bytes)) : 1;
    Weights w(t, rows, cols, copies);
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

void attention_bench(benchmark::State& st, const kernels::Family* f, int hd, int n_pos) {
    const int block_rows = 32, n_blocks = (n_pos + block_rows - 1) / block_rows;
    std::vector<uint16_t> k(size_t(n_blocks) * block_rows * hd), v(k.size());
    const auto kf = random_floats(k.size(), 6), vf = random_floats(v.size(), 7);
    quantize_row(DType::F16, kf.data(), k.data(), int64_t(k.size()));
    quantize_row(DType::F16, vf.data(), v.data(), int64_t(v.size()));
    std::vector<int32_t> table(n_blocks);
    for (int i = 0; i < n_blocks; ++i) table[i] = i;
    AttentionArgs a;
    a.kv_type = DType::F16;
    a.head_dim = a.head_dim_v = hd;
    a.n_pos = n_pos;
    const size_t stride = size_t(block_rows) * hd * 2;
    a.k = {reinterpret_cast<const uint8_t*>(k.data()), table.data(), stride, block_rows};
    a.v = {reinterpret_cast<const uint8_t*>(v.data()), table.data(), stride, block_rows};
    a.scale = 0.125f;
    const auto q = random_floats(size_t(hd), 8);
    std::vector<float> out(hd);
    for (auto _ : st) {
        f->attention(a, q.data(), out.data());
        benchmark::DoNotOptimize(out.data());
    }
    st.SetItemsProcessed(int64_t(st.iterations()) * n_pos);
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
            {"decode-2048x8192", 2048, 8192, 1}, {"decode-1536x576", 1536, 576, 1},
            {"prefill-2048x2048", 2048, 2048, 128},
            {"prefill-1536x576", 1536, 576, 128}, {"batch8-2048x2048", 2048, 2048, 8},
            {"batch8-1536x576", 1536, 576, 8},
        };
        for (DType t : {DType::Q8_0, DType::Q4_0, DType::Q5_0, DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::F16}) {
            for (const auto& s : shapes) {
                if (s.cols % dtype_info(t).block_size) continue;
                if (fam == "scalar" && s.n_tok > 1) continue;  // minutes per iteration
                for (int th : {1, threads}) {
                    if (th == threads && threads == 1) continue;
                    const std::string n = "gemm/" + fam + "/" + dtype_name(t) + "/" + s.what + "/threads:" + std::to_string(th);
                    benchmark::RegisterBenchmark(n.c_str(), gemm_bench, f, t, s.rows, s.cols, s.n_tok, th)
                        ->Unit(benchmark::kMicrosecond)
                        ->UseRealTime();
                }
            }
        }
        for (DType at : {DType::Q8_0, DType::Q8_1, DType::Q8_K, DType::F16})
            benchmark::RegisterBenchmark(("quantize/" + fam + "/" + dtype_name(at) + "/2048").c_str(), quantize_bench, f,
                                         at, int64_t(2048));
        benchmark::RegisterBenchmark(("swiglu/" + fam + "/8192").c_str(), swiglu_bench, f, int64_t(8192));
        for (int n_pos : {64, 512})
            benchmark::RegisterBenchmark(("attention/" + fam + "/f16/hd64/pos" + std::to_string(n_pos)).c_str(),
                                         attention_bench, f, 64, n_pos);
    }
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
