// Group commit: many HTTP threads append at once; one writer thread commits whatever has queued in
// one transaction, and each caller returns when the transaction holding its record has committed.
// A caller therefore waits for at most the commit in progress plus its own, never for every other
// caller's commit in turn (one fsync/commit per batch, not per record).
#pragma once
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "ledger/ledger.h"

namespace kinglet::ledger {

class GroupCommitter {
public:
    // Commits a batch durably or throws; runs on the writer thread only.
    using CommitFn = std::function<void(const std::vector<const Record*>& batch)>;

    explicit GroupCommitter(CommitFn commit, size_t max_batch = 512);
    // Commits what is queued, then stops the writer.
    ~GroupCommitter();
    GroupCommitter(const GroupCommitter&) = delete;
    GroupCommitter& operator=(const GroupCommitter&) = delete;

    // Blocks until r is committed; rethrows the batch's error if its commit failed.
    void submit(const Record& r);

private:
    struct Slot {
        const Record* record;
        bool done = false;
        std::exception_ptr error;
    };
    void run();

    CommitFn commit_;
    size_t max_batch_;
    std::mutex mutex_;
    std::condition_variable work_cv_, done_cv_;
    std::deque<Slot*> queue_;
    bool stop_ = false;
    std::thread writer_;
};

}  // namespace kinglet::ledger
