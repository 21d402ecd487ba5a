#include "router/worker_threads.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace kinglet::router {

struct WorkerThreads::State {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<std::function<void()>> queue;
    size_t idle = 0;  // workers waiting for a task
    bool closing = false;
    std::chrono::duration<double> idle_exit;
};

namespace {

void work(const std::shared_ptr<WorkerThreads::State>& s) {
    std::unique_lock<std::mutex> lock(s->mu);
    for (;;) {
        if (s->queue.empty()) {
            s->idle++;
            s->cv.wait_for(lock, s->idle_exit, [&] { return !s->queue.empty() || s->closing; });
            s->idle--;
            if (s->queue.empty()) return;  // idle too long, or the owner is gone
        }
        std::function<void()> task = std::move(s->queue.front());
        s->queue.pop_front();
        lock.unlock();
        task();
        task = nullptr;  // what the task holds is released before this worker waits again
        lock.lock();
    }
}

}  // namespace

WorkerThreads::WorkerThreads(std::chrono::duration<double> idle_exit) : s_(std::make_shared<State>()) {
    s_->idle_exit = idle_exit;
}

WorkerThreads::~WorkerThreads() {
    std::lock_guard<std::mutex> lock(s_->mu);
    s_->closing = true;
    s_->cv.notify_all();
}

size_t WorkerThreads::idle_workers() const {
    std::lock_guard<std::mutex> lock(s_->mu);
    return s_->idle;
}

void WorkerThreads::post(std::function<void()> task) {
    std::unique_lock<std::mutex> lock(s_->mu);
    s_->queue.push_back(std::move(task));
    // Every queued task needs a worker of its own: wake an idle one, else start one.
    if (s_->idle >= s_->queue.size()) {
        s_->cv.notify_one();
        return;
    }
    try {
        std::thread([s = s_] { work(s); }).detach();
    } catch (...) {
        s_->queue.pop_back();
        throw;
    }
}

}  // namespace kinglet::router
