// A fixed pool of worker threads for the compute loop. A job is n chunks; the caller and the workers
// claim chunks from one atomic counter until none are left, and the call returns when every chunk has
// run. A worker that is not running at the time (asleep, or descheduled on a busy machine) simply
// takes no part: the caller never waits for a thread, only for chunks already claimed, so a pool of N
// threads is never slower than one thread doing all the work. Workers spin briefly on an atomic
// generation counter before sleeping, so back-to-back jobs (one per matrix product in a forward pass)
// cost well under a microsecond to dispatch.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
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
    // Runs fn(chunk) for every chunk in [0, n_chunks), each exactly once, on whichever threads are free;
    // returns when all have run. An exception thrown by fn is rethrown here (the first one, after every
    // chunk has finished). Not reentrant: fn must not start another job on the same pool.
    void parallel_chunks(int64_t n_chunks, const std::function<void(int64_t chunk)>& fn);
    // Runs fn(i, n) for every i < n = size(), each exactly once (not necessarily on thread i).
    void run(const std::function<void(int i, int n)>& fn);
    // Splits [0, n) into contiguous ranges of at least `grain` items (a few per thread, for balance)
    // and runs fn(begin, end) on each.
    void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t begin, int64_t end)>& fn);

private:
    void worker();
    // Claims and runs chunks of the current job until none are left.
    void work();

    int n_;
    std::vector<std::thread> threads_;
    // The current job: claim_ packs (number of chunks << 32) | next chunk, so that a claim that
    // succeeds is always a chunk of the job being run, whatever a late thread believed it was.
    // claim_ and done_ live on cache lines of their own: every claim moves claim_'s line between cores,
    // and that must not drag the job's other fields along.
    alignas(64) std::atomic<uint64_t> claim_{0};
    alignas(64) std::atomic<int64_t> done_{0};
    alignas(64) std::atomic<const std::function<void(int64_t)>*> fn_{nullptr};
    std::exception_ptr error_;
    std::mutex error_mu_;
    std::atomic<uint64_t> generation_{0};
    std::atomic<bool> stop_{false};
    std::mutex mu_;
    std::condition_variable cv_;
    std::atomic<int> sleeping_{0};
};

// Physical cores available to this process (the default thread count).
int default_thread_count();

}  // namespace kinglet
