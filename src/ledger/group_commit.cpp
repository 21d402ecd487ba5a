#include "ledger/group_commit.h"

namespace kinglet::ledger {

GroupCommitter::GroupCommitter(CommitFn commit, size_t max_batch)
    : commit_(std::move(commit)), max_batch_(max_batch ? max_batch : 1), writer_([this] { run(); }) {}

GroupCommitter::~GroupCommitter() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    work_cv_.notify_all();
    writer_.join();
}

void GroupCommitter::submit(const Record& r) {
    Slot slot{&r, false, nullptr};
    std::unique_lock lock(mutex_);
    queue_.push_back(&slot);
    work_cv_.notify_one();
    done_cv_.wait(lock, [&] { return slot.done; });
    if (slot.error) std::rethrow_exception(slot.error);
}

void GroupCommitter::run() {
    std::vector<Slot*> slots;
    std::vector<const Record*> batch;
    std::unique_lock lock(mutex_);
    for (;;) {
        work_cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping, and everything submitted is committed
        slots.clear();
        batch.clear();
        while (!queue_.empty() && slots.size() < max_batch_) {
            slots.push_back(queue_.front());
            batch.push_back(queue_.front()->record);
            queue_.pop_front();
        }
        lock.unlock();
        std::exception_ptr error;
        try {
            commit_(batch);
        } catch (...) {
            error = std::current_exception();
        }
        lock.lock();
        for (Slot* s : slots) {
            s->error = error;
            s->done = true;
        }
        done_cv_.notify_all();
    }
}

}  // namespace kinglet::ledger
