// One HTTP request's generations (n choices, or several prompts, or several embedding inputs) as the
// HTTP thread sees them: providers push deltas and results from their own threads (cheaply: a move
// under a lock); the HTTP thread waits, formats and writes. Cancelling the job cancels every
// generation in it.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "router/provider.h"

namespace kinglet::server {

struct JobEvent {
    int choice = 0;
    std::string text;
    std::vector<router::TokenLogprob> logprobs;
    bool done = false;  // the choice's result is in results() (its last text came in earlier events)
    std::shared_ptr<const router::RouteTrace> trace;  // routed generations: on the first delta
};

class Job : public std::enable_shared_from_this<Job> {
public:
    explicit Job(size_t n_choices) : results_(n_choices) {}

    // Callbacks for choice `i` (with deltas when `stream`). They do not keep the job alive: the caller
    // keeps it until it has what it waits for.
    router::GenerationCallbacks callbacks(int i, bool stream);
    void add(std::unique_ptr<router::Generation> g);
    // Cancels every generation; later deltas are refused. Results still arrive (finish = cancelled).
    void cancel();
    bool cancelled() const { return cancelled_.load(); }

    // Waits until there is something to take or `timeout` passes; moves pending events into `out`.
    // Returns true when every choice has finished (and all its events were taken).
    bool wait(std::vector<JobEvent>& out, std::chrono::milliseconds timeout);
    // Waits for every result whose generation was started; `poll` is called every `interval` and
    // cancels the job when it returns false (e.g. the client disconnected).
    void wait_all(const std::function<bool()>& poll, std::chrono::milliseconds interval);
    // Marks choices that were never started as done, so waiting ends (after a start() failed).
    void abandon_unstarted();

    // Valid once the choice is done.
    std::vector<std::optional<router::GenerationResult>>& results() { return results_; }

private:
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::vector<JobEvent> events_;
    std::vector<std::optional<router::GenerationResult>> results_;
    size_t started_ = 0, done_ = 0;
    std::vector<std::unique_ptr<router::Generation>> handles_;
    std::atomic<bool> cancelled_{false};
};

}  // namespace kinglet::server
