// A fixed pool of worker threads for the compute loop. `run(fn)` executes fn(ith, nth) on every
// thread (the caller is thread 0) and returns when all have finished. Workers spin briefly on an
// atomic generation counter before sleeping, so back-to-back calls (one per matrix product in a
// forward pass) cost well under a microsecond to dispatch.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace kinglet {

class ThreadPool {
public:
    explicit ThreadPool(int n_threads);
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int size() const { return n_; }
    // Runs fn(ith, nth) on all threads. Not reentrant: fn must not call run() on the same pool.
    void run(const std::function<void(int ith, int nth)>& fn);
    // Splits [0, n) into contiguous chunks of at least `grain` items, one range per thread.
    void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t begin, int64_t end)>& fn);

private:
    void worker(int ith);

    int n_;
    std::vector<std::thread> threads_;
    const std::function<void(int, int)>* job_ = nullptr;
    std::atomic<uint64_t> generation_{0};
    std::atomic<int> pending_{0};
    std::atomic<bool> stop_{false};
    std::mutex mu_;
    std::condition_variable cv_;
    std::atomic<int> sleeping_{0};
};

// Physical cores available to this process (the default thread count).
int default_thread_count();

}  // namespace kinglet
