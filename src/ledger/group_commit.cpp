#include "ledger/group_commit.h"

#include <algorithm>

namespace kinglet::ledger {

GroupCommitter::GroupCommitter(CommitFn commit, size_t max_batch)
    : commit_(std::move(commit)), max_batch_(max_batch ? max_batch : 1) {}

void GroupCommitter::submit(const Record& r) {
    Slot slot{&r, false, nullptr};
    std::unique_lock lock(mutex_);
    queue_.push_back(&slot);
    while (!slot.done) {
        if (committing_) {
            done_cv_.wait(lock);
            continue;
        }
        // Lead: commit the oldest queued records (this one among them unless max_batch are ahead).
        committing_ = true;
        const size_t n = std::min(queue_.size(), max_batch_);
        std::vector<Slot*> slots(queue_.begin(), queue_.begin() + std::ptrdiff_t(n));
        queue_.erase(queue_.begin(), queue_.begin() + std::ptrdiff_t(n));
        std::vector<const Record*> batch;
        batch.reserve(n);
        for (Slot* s : slots) batch.push_back(s->record);
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
        committing_ = false;
        done_cv_.notify_all();
    }
    if (slot.error) std::rethrow_exception(slot.error);
}

}  // namespace kinglet::ledger
