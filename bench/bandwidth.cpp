// Streaming-read memory bandwidth: the decode floor of a model is (bytes of weights read per token)
// / (this bandwidth). Each thread sums its own slice of a buffer much larger than the last-level
// cache, with several independent accumulators, the way a GEMV streams weights. Prints JSON.
//   bandwidth [--threads N] [--mib SIZE] [--reps R]
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "core/thread_pool.h"

namespace {

// 4 x 16-byte loads per iteration into independent integer accumulators (SSE2: every x86-64 has it,
// and two 16-byte loads per cycle already exceed what DRAM delivers to one core).
uint64_t sum_slice(const uint8_t* p, size_t n) {
    __m128i a0 = _mm_setzero_si128(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i + 64 <= n; i += 64) {
        a0 = _mm_add_epi64(a0, _mm_load_si128(reinterpret_cast<const __m128i*>(p + i)));
        a1 = _mm_add_epi64(a1, _mm_load_si128(reinterpret_cast<const __m128i*>(p + i + 16)));
        a2 = _mm_add_epi64(a2, _mm_load_si128(reinterpret_cast<const __m128i*>(p + i + 32)));
        a3 = _mm_add_epi64(a3, _mm_load_si128(reinterpret_cast<const __m128i*>(p + i + 48)));
    }
    __m128i s = _mm_add_epi64(_mm_add_epi64(a0, a1), _mm_add_epi64(a2, a3));
    uint64_t out[2];
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), s);
    return out[0] + out[1];
}

}  // namespace

int main(int argc, char** argv) {
    int threads = kinglet::default_thread_count();
    size_t mib = 1024;
    int reps = 10;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string a = argv[i];
        if (a == "--threads" || a == "-t") threads = std::atoi(argv[i + 1]);
        else if (a == "--mib") mib = std::strtoull(argv[i + 1], nullptr, 10);
        else if (a == "--reps") reps = std::atoi(argv[i + 1]);
        else {
            std::fprintf(stderr, "usage: bandwidth [--threads N] [--mib SIZE] [--reps R]\n");
            return 2;
        }
    }
    const size_t bytes = mib << 20;
    auto* buf = static_cast<uint8_t*>(std::aligned_alloc(4096, bytes));
    if (!buf) {
        std::fprintf(stderr, "bandwidth: cannot allocate %zu MiB\n", mib);
        return 1;
    }
    kinglet::ThreadPool pool(threads);
    // Each thread first-touches the slice it will read.
    pool.parallel_for(int64_t(bytes / 4096), 1, [&](int64_t b, int64_t e) {
        std::memset(buf + b * 4096, int(b & 0xff), size_t(e - b) * 4096);
    });
    std::vector<double> gbs;
    volatile uint64_t sink = 0;
    for (int r = 0; r < reps + 1; ++r) {
        auto t0 = std::chrono::steady_clock::now();
        pool.parallel_for(int64_t(bytes / 4096), 1, [&](int64_t b, int64_t e) {
            sink = sink + sum_slice(buf + b * 4096, size_t(e - b) * 4096);
        });
        double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (r > 0) gbs.push_back(double(bytes) / s / 1e9);  // the first pass is a warm-up
    }
    std::sort(gbs.begin(), gbs.end());
    std::printf("{\"threads\": %d, \"mib\": %zu, \"reps\": %d, \"median_gbs\": %.2f, \"max_gbs\": %.2f}\n", threads, mib,
                reps, gbs[gbs.size() / 2], gbs.back());
    std::free(buf);
    return 0;
}
