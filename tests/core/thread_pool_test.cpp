// The pool's contract: every chunk runs exactly once per job, jobs follow each other without mixing,
// an exception reaches the caller, and more threads than cores still finish.
#include "core/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <vector>

using namespace kinglet;

TEST(ThreadPool, EveryChunkRunsOnceInManyBackToBackJobs) {
    for (int threads : {1, 2, 3, 8}) {
        ThreadPool pool(threads);
        for (int job = 0; job < 2000; ++job) {
            const int64_t n = 1 + job % 37;
            std::vector<std::atomic<int>> hits(n);
            pool.parallel_chunks(n, [&](int64_t c) { hits[c].fetch_add(1); });
            for (int64_t c = 0; c < n; ++c) ASSERT_EQ(hits[c].load(), 1) << "threads " << threads << " job " << job;
        }
    }
}

TEST(ThreadPool, ParallelForCoversTheRangeExactly) {
    ThreadPool pool(3);
    for (int64_t n : {1, 2, 5, 16, 17, 1000}) {
        for (int64_t grain : {1, 4, 64}) {
            std::vector<std::atomic<int>> hits(n);
            pool.parallel_for(n, grain, [&](int64_t b, int64_t e) {
                EXPECT_LT(b, e);
                for (int64_t i = b; i < e; ++i) hits[i].fetch_add(1);
            });
            for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << n << " " << grain;
        }
    }
}

TEST(ThreadPool, RunCallsEveryIndexOnce) {
    ThreadPool pool(4);
    std::vector<std::atomic<int>> hits(4);
    pool.run([&](int i, int n) {
        EXPECT_EQ(n, 4);
        hits[i].fetch_add(1);
    });
    for (auto& h : hits) EXPECT_EQ(h.load(), 1);
}

TEST(ThreadPool, ExceptionsReachTheCallerAfterEveryChunkFinished) {
    ThreadPool pool(2);
    std::atomic<int> ran{0};
    EXPECT_THROW(pool.parallel_chunks(64,
                                      [&](int64_t c) {
                                          ran.fetch_add(1);
                                          if (c == 5) throw std::runtime_error("chunk 5");
                                      }),
                 std::runtime_error);
    EXPECT_EQ(ran.load(), 64);
    // The pool is usable afterwards.
    std::atomic<int> again{0};
    pool.parallel_chunks(10, [&](int64_t) { again.fetch_add(1); });
    EXPECT_EQ(again.load(), 10);
}
