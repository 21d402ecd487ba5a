#include "server/generation_job.h"

namespace kinglet::server {

router::GenerationCallbacks Job::callbacks(int i, bool stream) {
    router::GenerationCallbacks cb;
    // Weak: the job keeps the generations (to cancel them), and they keep these callbacks; a strong
    // reference would make a cycle that leaks every request. Whoever waits for the job keeps it alive;
    // once nobody does, events have no reader and are dropped.
    std::weak_ptr<Job> weak = weak_from_this();
    if (stream) {
        cb.on_delta = [weak, i](router::GenerationDelta&& d) {
            auto self = weak.lock();
            if (!self || self->cancelled_.load()) return false;
            {
                std::lock_guard<std::mutex> lock(self->mu_);
                JobEvent e;
                e.choice = i;
                e.text = std::move(d.text);
                e.logprobs = std::move(d.logprobs);
                e.trace = std::move(d.trace);
                self->events_.push_back(std::move(e));
            }
            self->cv_.notify_all();
            return true;
        };
    }
    cb.on_done = [weak, i](router::GenerationResult&& r) {
        auto self = weak.lock();
        if (!self) return;
        {
            std::lock_guard<std::mutex> lock(self->mu_);
            self->results_[size_t(i)] = std::move(r);
            self->done_++;
            JobEvent e;
            e.choice = i;
            e.done = true;
            self->events_.push_back(std::move(e));
        }
        self->cv_.notify_all();
    };
    return cb;
}

void Job::add(std::unique_ptr<router::Generation> g) {
    std::lock_guard<std::mutex> lock(mu_);
    started_++;
    if (cancelled_.load()) g->cancel();
    handles_.push_back(std::move(g));
}

void Job::cancel() {
    if (cancelled_.exchange(true)) return;
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& h : handles_) h->cancel();
}

void Job::abandon_unstarted() {
    std::lock_guard<std::mutex> lock(mu_);
    // Results of started choices still arrive; count the rest as done.
    done_ += results_.size() - started_;
    started_ = results_.size();
}

bool Job::wait(std::vector<JobEvent>& out, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return !events_.empty() || done_ == results_.size(); });
    for (auto& e : events_) out.push_back(std::move(e));
    events_.clear();
    return done_ == results_.size();
}

void Job::wait_all(const std::function<bool()>& poll, std::chrono::milliseconds interval) {
    std::unique_lock<std::mutex> lock(mu_);
    while (done_ < results_.size()) {
        if (cv_.wait_for(lock, interval, [&] { return done_ == results_.size(); })) break;
        if (poll && !cancelled_.load()) {
            lock.unlock();
            if (!poll()) cancel();
            lock.lock();
        }
    }
    events_.clear();
}

}  // namespace kinglet::server
