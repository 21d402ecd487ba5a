// Group commit: every submitted record is committed exactly once, before its submit() returns; commits
// never overlap; a failed commit fails exactly the submits whose records it held.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "core/error.h"
#include "ledger/group_commit.h"

namespace kinglet::ledger {
namespace {

TEST(GroupCommit, EachRecordOnceBeforeItsSubmitReturnsAndCommitsNeverOverlap) {
    std::mutex mu;
    std::multiset<std::string> committed;
    std::atomic<int> in_commit{0};
    std::atomic<bool> overlapped{false};
    std::atomic<int> commits{0};
    GroupCommitter gc([&](const std::vector<const Record*>& batch) {
        if (in_commit.fetch_add(1) != 0) overlapped = true;
        std::this_thread::sleep_for(std::chrono::microseconds(200));  // lets others queue up
        {
            std::lock_guard<std::mutex> lock(mu);
            for (const Record* r : batch) committed.insert(r->id);
        }
        commits++;
        in_commit.fetch_sub(1);
    }, 8);
    constexpr int kThreads = 16, kEach = 40;
    std::atomic<int> returned_uncommitted{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < kEach; ++i) {
                Record r;
                r.id = std::to_string(t) + "/" + std::to_string(i);
                gc.submit(r);
                std::lock_guard<std::mutex> lock(mu);
                if (committed.count(r.id) != 1) returned_uncommitted++;
            }
        });
    for (auto& th : threads) th.join();
    EXPECT_EQ(committed.size(), size_t(kThreads * kEach));
    EXPECT_EQ(std::set<std::string>(committed.begin(), committed.end()).size(), committed.size());
    EXPECT_EQ(returned_uncommitted.load(), 0);
    EXPECT_FALSE(overlapped.load());
    EXPECT_LE(commits.load(), kThreads * kEach);
}

TEST(GroupCommit, AFailedCommitFailsItsOwnRecordsOnly) {
    GroupCommitter gc([](const std::vector<const Record*>& batch) {
        for (const Record* r : batch)
            if (r->id == "bad") fail(Errc::io, "disk full");
    });
    Record bad, good;
    bad.id = "bad";
    good.id = "good";
    EXPECT_THROW(gc.submit(bad), Error);
    EXPECT_NO_THROW(gc.submit(good));  // the committer is usable after a failure
}

}  // namespace
}  // namespace kinglet::ledger
