// Group commit: many HTTP threads append at once; whatever has queued is committed in one transaction,
// and each caller returns when the transaction holding its record has committed. The committing is
// done by the callers themselves: one of them at a time (the leader) takes the queue and commits it
// while the others wait; when it is done, a caller whose record is still queued becomes the next
// leader. A lone request therefore commits on its own thread without any hand-off, and a burst costs
// one commit per batch, not one per record. A caller waits for at most the commit in progress plus
// its own.
#pragma once
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <vector>

#include "ledger/ledger.h"

namespace kinglet::ledger {

class GroupCommitter {
public:
    // Commits a batch durably or throws; called by one thread at a time.
    using CommitFn = std::function<void(const std::vector<const Record*>& batch)>;

    explicit GroupCommitter(CommitFn commit, size_t max_batch = 512);
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

    CommitFn commit_;
    size_t max_batch_;
    std::mutex mutex_;
    std::condition_variable done_cv_;
    std::vector<Slot*> queue_;
    bool committing_ = false;  // a leader is committing a batch
};

}  // namespace kinglet::ledger
