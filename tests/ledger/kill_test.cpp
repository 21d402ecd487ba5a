// The durability contract: a record whose append() returned is in the ledger even when the process
// is killed with SIGKILL right after. A child process appends as fast as it can and reports each id
// on a pipe the moment append() returns; the parent kills it mid-stream and then finds every
// reported record (and nothing half-written: each has its attempts).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <set>

#include "ledger/backend.h"
#include "ledger/ledger.h"
#include "ledger/records.h"

namespace kinglet::ledger {
namespace {

class KillTest : public testing::TestWithParam<std::string> {};

TEST_P(KillTest, EveryRecordWhoseAppendReturnedSurvivesSigkill) {
    KINGLET_FRESH_LEDGER(fresh, GetParam());
    open_ledger(fresh.url());  // create the schema first, so the child's time goes to appends
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        close(fds[0]);
        try {
            auto l = open_ledger(fresh.url());
            for (uint32_t i = 0;; ++i) {
                l->append(test::full_record(int(i), 1000 + i));
                if (write(fds[1], &i, sizeof i) != sizeof i) _exit(3);
            }
        } catch (...) {
            _exit(2);
        }
    }
    close(fds[1]);
    // Let some appends through, then kill while it is appending.
    std::set<std::string> reported;
    uint32_t i = 0;
    for (int n = 0; n < 25; ++n) {
        ASSERT_EQ(read(fds[0], &i, sizeof i), ssize_t(sizeof i)) << "child died early";
        reported.insert(test::full_record(int(i), 0).id);
    }
    ASSERT_EQ(kill(child, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "child exit status " << status;
    // Everything the child reported before dying, including what is still in the pipe.
    while (read(fds[0], &i, sizeof i) == ssize_t(sizeof i)) reported.insert(test::full_record(int(i), 0).id);
    close(fds[0]);
    ASSERT_GE(reported.size(), 25u);

    std::set<std::string> found;
    for (const auto& r : open_ledger(fresh.url())->records({})) {
        found.insert(r.id);
        EXPECT_EQ(r.attempts.size(), 2u) << r.id;
    }
    for (const auto& id : reported) EXPECT_TRUE(found.count(id)) << "lost after SIGKILL: " << id;
}

INSTANTIATE_TEST_SUITE_P(Backends, KillTest, testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace kinglet::ledger
