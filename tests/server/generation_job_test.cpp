// The job an HTTP request waits on: its generations keep its callbacks, and it keeps its generations (to
// cancel them), so the callbacks must not keep the job alive — else every request would leak its job,
// results included.
#include <gtest/gtest.h>

#include "server/generation_job.h"

namespace kinglet::server {
namespace {

// A generation that keeps its callbacks for as long as it lives, as providers do.
class HeldGeneration final : public router::Generation {
public:
    explicit HeldGeneration(router::GenerationCallbacks cb) : cb(std::move(cb)) {}
    void cancel() override { cancelled = true; }
    router::GenerationCallbacks cb;
    bool cancelled = false;
};

TEST(Job, ItsGenerationsDoNotKeepItAlive) {
    auto job = std::make_shared<Job>(1);
    std::weak_ptr<Job> weak = job;
    auto g = std::make_unique<HeldGeneration>(job->callbacks(0, true));
    HeldGeneration* held = g.get();
    ASSERT_TRUE(held->cb.on_delta(router::GenerationDelta{"hi", {}, nullptr}));
    router::GenerationResult r;
    r.text = "hi";
    held->cb.on_done(std::move(r));
    job->add(std::move(g));
    std::vector<JobEvent> events;
    EXPECT_TRUE(job->wait(events, std::chrono::milliseconds(0)));
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[0].text, "hi");
    EXPECT_TRUE(events[1].done);
    EXPECT_EQ(job->results()[0]->text, "hi");
    job.reset();
    EXPECT_TRUE(weak.expired());
}

TEST(Job, EventsForAJobNobodyWaitsForAreDropped) {
    auto job = std::make_shared<Job>(1);
    router::GenerationCallbacks cb = job->callbacks(0, true);
    job.reset();
    // The client is gone: the generation is told to stop, and its result has nowhere to go.
    EXPECT_FALSE(cb.on_delta(router::GenerationDelta{"late", {}, nullptr}));
    cb.on_done(router::GenerationResult{});
}

}  // namespace
}  // namespace kinglet::server
