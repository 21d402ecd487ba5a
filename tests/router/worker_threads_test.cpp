// The remote provider's worker threads: every posted task gets a worker at once (blocking tasks never
// wait for each other), idle workers are reused, and the owner may go away inside a task.
#include <gtest/gtest.h>

#include <condition_variable>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "router/worker_threads.h"

namespace kinglet::router {
namespace {

TEST(WorkerThreads, BlockingTasksRunTogether) {
    // Eight tasks that each wait until all eight have started: only possible if none waits for a worker.
    WorkerThreads w;
    constexpr int kTasks = 8;
    std::mutex mu;
    std::condition_variable cv;
    int started = 0;
    std::vector<std::promise<bool>> done(kTasks);
    for (int i = 0; i < kTasks; ++i)
        w.post([&, i] {
            std::unique_lock<std::mutex> lock(mu);
            ++started;
            cv.notify_all();
            done[size_t(i)].set_value(cv.wait_for(lock, std::chrono::seconds(60), [&] { return started == kTasks; }));
        });
    for (auto& d : done) EXPECT_TRUE(d.get_future().get());
}

TEST(WorkerThreads, AnIdleWorkerTakesTheNextTask) {
    WorkerThreads w;
    std::set<std::thread::id> ids;
    for (int i = 0; i < 5; ++i) {
        std::promise<std::thread::id> p;
        w.post([&] { p.set_value(std::this_thread::get_id()); });
        ids.insert(p.get_future().get());
        // Let the worker get back to waiting before the next post.
        for (int spin = 0; spin < 60000 && w.idle_workers() == 0; ++spin)
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        ASSERT_EQ(w.idle_workers(), 1u);
    }
    EXPECT_EQ(ids.size(), 1u);
}

TEST(WorkerThreads, TheOwnerMayBeDestroyedInsideATask) {
    auto w = std::make_shared<WorkerThreads>();
    std::promise<void> gone;
    auto* raw = w.get();
    raw->post([w = std::move(w), &gone]() mutable {
        w.reset();  // the last reference: ~WorkerThreads runs on its own worker
        gone.set_value();
    });
    gone.get_future().get();
}

}  // namespace
}  // namespace kinglet::router
