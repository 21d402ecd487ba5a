// What the cascade and fallback policies share (router/route.h): a run goes through its steps one at a
// time, keeps the current step's generation so that cancel() reaches it, and finishes exactly once.
// Internal to the policies in router/.
#pragma once
#include <cstddef>
#include <memory>
#include <mutex>

#include "router/provider.h"

namespace kinglet::router {

class StepRun {
public:
    void cancel() {
        std::lock_guard<std::mutex> lock(mu_);
        cancelled_ = true;
        if (child_) child_->cancel();
    }

protected:
    // Makes step i the current one; false when the run was cancelled (the caller then finishes it).
    bool enter(size_t i) {
        std::lock_guard<std::mutex> lock(mu_);
        current_ = int(i);
        return !cancelled_;
    }
    // Keeps g, the generation step i started, unless the run has moved on or finished meanwhile (its
    // completion callback may already have run); a run cancelled in between cancels it.
    void adopt(size_t i, std::unique_ptr<Generation> g) {
        std::lock_guard<std::mutex> lock(mu_);
        if (current_ != int(i) || finished_) return;
        child_ = std::move(g);
        if (cancelled_) child_->cancel();
    }
    bool cancelled() {
        std::lock_guard<std::mutex> lock(mu_);
        return cancelled_;
    }
    // True exactly once, for the caller that then delivers the run's result; drops the child.
    bool close() {
        std::lock_guard<std::mutex> lock(mu_);
        if (finished_) return false;
        finished_ = true;
        child_.reset();
        return true;
    }

    bool delivered_ = false;  // a delta went to the client: nothing can be retried or replaced after it

private:
    std::mutex mu_;
    std::unique_ptr<Generation> child_;
    int current_ = -1;
    bool cancelled_ = false, finished_ = false;
};

// The Generation a route's start() returns: cancelling it cancels the run (which its callbacks keep alive).
template <class Run>
class RunGeneration final : public Generation {
public:
    explicit RunGeneration(std::shared_ptr<Run> r) : run_(std::move(r)) {}
    void cancel() override { run_->cancel(); }

private:
    std::shared_ptr<Run> run_;
};

}  // namespace kinglet::router
