#include "core/thread_pool.h"

#include <immintrin.h>
#include <sched.h>

#include <fstream>
#include <set>
#include <string>

namespace kinglet {
namespace {
constexpr int kSpinIterations = 4096;  // pause, then yield, then sleep on the condition variable
}

ThreadPool::ThreadPool(int n_threads) : n_(n_threads < 1 ? 1 : n_threads) {
    for (int i = 1; i < n_; ++i) threads_.emplace_back([this, i] { worker(i); });
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

void ThreadPool::run(const std::function<void(int, int)>& fn) {
    if (n_ == 1) {
        fn(0, 1);
        return;
    }
    job_ = &fn;
    pending_.store(n_ - 1, std::memory_order_relaxed);
    {
        // The lock orders the generation bump with a worker deciding to sleep.
        std::lock_guard<std::mutex> lock(mu_);
        generation_.fetch_add(1, std::memory_order_release);
    }
    if (sleeping_.load(std::memory_order_acquire) > 0) cv_.notify_all();
    fn(0, n_);
    // Spin briefly, then yield: when the machine is oversubscribed a pure spin would burn the time
    // slice the worker needs to finish.
    for (int spins = 0; pending_.load(std::memory_order_acquire) > 0; ++spins) {
        if (spins < kSpinIterations / 16) _mm_pause();
        else std::this_thread::yield();
    }
    job_ = nullptr;
}

void ThreadPool::worker(int ith) {
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
        (*job_)(ith, n_);
        pending_.fetch_sub(1, std::memory_order_acq_rel);
    }
}

void ThreadPool::parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    int64_t max_chunks = (n + grain - 1) / grain;
    if (n_ == 1 || max_chunks == 1) {
        fn(0, n);
        return;
    }
    run([&](int ith, int nth) {
        int64_t per = (n + nth - 1) / nth;
        int64_t b = ith * per, e = std::min(n, b + per);
        if (b < e) fn(b, e);
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
