#include "core/thread_pool.h"

#include <immintrin.h>
#include <sched.h>

#include <fstream>
#include <set>
#include <string>

namespace kinglet {
namespace {
constexpr int kSpinIterations = 4096;  // pause, then yield, then sleep on the condition variable
constexpr uint64_t kIndexMask = 0xffffffffu;
}  // namespace

ThreadPool::ThreadPool(int n_threads) : n_(n_threads < 1 ? 1 : n_threads) {
    for (int i = 1; i < n_; ++i) threads_.emplace_back([this] { worker(); });
}

ThreadPool::~ThreadPool() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        stop_.store(true);
        generation_.fetch_add(1);
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
}

void ThreadPool::work() {
    // Chunks run here are counted into done_ once, when no chunk is left to claim: the job cannot finish
    // (nor its function change) while this thread holds uncounted chunks.
    int64_t ran = 0;
    const std::function<void(int64_t)>* fn = nullptr;
    uint64_t v = claim_.load(std::memory_order_acquire);
    for (;;) {
        const uint64_t n = v >> 32, i = v & kIndexMask;
        if (i >= n) break;
        if (!claim_.compare_exchange_weak(v, v + 1, std::memory_order_acq_rel, std::memory_order_acquire)) continue;
        if (!fn) fn = fn_.load(std::memory_order_acquire);
        try {
            (*fn)(int64_t(i));
        } catch (...) {
            std::lock_guard<std::mutex> lock(error_mu_);
            if (!error_) error_ = std::current_exception();
        }
        ++ran;
        v = claim_.load(std::memory_order_acquire);
    }
    if (ran) done_.fetch_add(ran, std::memory_order_acq_rel);
}

void ThreadPool::parallel_chunks(int64_t n_chunks, const std::function<void(int64_t)>& fn) {
    if (n_chunks <= 0) return;
    if (n_ == 1 || n_chunks == 1) {
        for (int64_t i = 0; i < n_chunks; ++i) fn(i);
        return;
    }
    fn_.store(&fn, std::memory_order_relaxed);
    done_.store(0, std::memory_order_relaxed);
    error_ = nullptr;
    {
        // The lock orders the new job with a worker deciding to sleep.
        std::lock_guard<std::mutex> lock(mu_);
        claim_.store(uint64_t(n_chunks) << 32, std::memory_order_release);
        generation_.fetch_add(1, std::memory_order_release);
    }
    if (sleeping_.load(std::memory_order_acquire) > 0) cv_.notify_all();
    work();
    // Only chunks other threads have already claimed remain: spin briefly, then yield (when the machine
    // is oversubscribed a pure spin would burn the time slice the other thread needs to finish).
    for (int spins = 0; done_.load(std::memory_order_acquire) < n_chunks; ++spins) {
        if (spins < kSpinIterations / 16) _mm_pause();
        else std::this_thread::yield();
    }
    claim_.store(0, std::memory_order_relaxed);
    if (error_) std::rethrow_exception(error_);
}

void ThreadPool::worker() {
    uint64_t seen = 0;
    for (;;) {
        uint64_t g;
        int spins = 0;
        while ((g = generation_.load(std::memory_order_acquire)) == seen) {
            if (++spins < kSpinIterations) {
                if (spins < kSpinIterations / 4) _mm_pause();
                else std::this_thread::yield();
                continue;
            }
            std::unique_lock<std::mutex> lock(mu_);
            sleeping_.fetch_add(1);
            cv_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
            sleeping_.fetch_sub(1);
            spins = 0;
        }
        seen = g;
        if (stop_.load()) return;
        work();
    }
}

void ThreadPool::run(const std::function<void(int, int)>& fn) {
    const int n = n_;
    parallel_chunks(n, [&](int64_t i) { fn(int(i), n); });
}

void ThreadPool::parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    // A few ranges per thread, so that a thread that starts late finds work and one that is held up
    // leaves little behind.
    int64_t chunks = (n + grain - 1) / grain;
    const int64_t most = int64_t(n_) * 4;
    if (chunks > most) chunks = most;
    if (n_ == 1 || chunks == 1) {
        fn(0, n);
        return;
    }
    const int64_t per = n / chunks, extra = n % chunks;
    parallel_chunks(chunks, [&](int64_t c) {
        const int64_t b = c * per + (c < extra ? c : extra);
        fn(b, b + per + (c < extra ? 1 : 0));
    });
}

int default_thread_count() {
    // Count distinct (package, core) pairs among the CPUs this process may run on.
    cpu_set_t set;
    CPU_ZERO(&set);
    int allowed = 0;
    if (sched_getaffinity(0, sizeof(set), &set) == 0) allowed = CPU_COUNT(&set);
    std::set<std::pair<std::string, std::string>> cores;
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
        if (allowed && !CPU_ISSET(cpu, &set)) continue;
        std::string base = "/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/";
        std::ifstream core(base + "core_id"), pkg(base + "physical_package_id");
        std::string c, p;
        if (!(core >> c) || !(pkg >> p)) continue;
        cores.insert({p, c});
    }
    int n = static_cast<int>(cores.size());
    if (n <= 0) n = allowed > 0 ? allowed : static_cast<int>(std::thread::hardware_concurrency());
    return n > 0 ? n : 1;
}

}  // namespace kinglet
