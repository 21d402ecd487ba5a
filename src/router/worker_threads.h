// Threads that run blocking work (a remote call waits on its HTTP stream for seconds) without
// creating a thread per task: an idle worker takes the next task, a new one is started only when
// none is idle, and a worker idle for `idle_exit` ends. Workers are detached and share the queue's
// state, so the owner may be destroyed (even from inside a task) while they wind down.
#pragma once
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>

namespace kinglet::router {

class WorkerThreads {
public:
    explicit WorkerThreads(std::chrono::duration<double> idle_exit = std::chrono::seconds(60));
    ~WorkerThreads();
    WorkerThreads(const WorkerThreads&) = delete;
    WorkerThreads& operator=(const WorkerThreads&) = delete;

    // Runs `task` on a worker. Throws std::system_error when a needed thread cannot be started.
    void post(std::function<void()> task);
    // Workers waiting for a task now.
    size_t idle_workers() const;

    struct State;

private:
    std::shared_ptr<State> s_;
};

}  // namespace kinglet::router
