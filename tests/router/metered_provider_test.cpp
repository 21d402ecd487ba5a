// Prices of metered providers, hand-computed: per-token prices, and a local machine priced by the hour
// divided by the throughput measured while it was busy (the meter's clock is driven by the test).
#include <gtest/gtest.h>

#include "router/metered_provider.h"
#include "fake_provider.h"

namespace kinglet::router {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(HourlyPrice, ThroughputCountsOverlappingBusyTimeOnceAndIdleTimeNever) {
    ThroughputMeter m;
    const auto t0 = ThroughputMeter::Clock::time_point{} + seconds(1000);
    EXPECT_EQ(m.tokens_per_second(t0), 0);
    m.begin(t0);
    m.begin(t0 + seconds(1));         // overlaps the first
    m.end(100, t0 + seconds(2));
    m.end(300, t0 + seconds(4));      // busy 0..4 s: 400 tokens
    EXPECT_DOUBLE_EQ(m.tokens_per_second(t0 + seconds(4)), 100);
    EXPECT_DOUBLE_EQ(m.tokens_per_second(t0 + seconds(100)), 100);  // idle time is not counted
    m.begin(t0 + seconds(10));
    EXPECT_DOUBLE_EQ(m.tokens_per_second(t0 + seconds(11)), 80);   // 400 tokens over 4 + 1 busy seconds
    m.end(200, t0 + seconds(11));
    EXPECT_DOUBLE_EQ(m.tokens_per_second(t0 + seconds(50)), 120);  // 600 tokens over 5 s
    m.begin(t0 + seconds(60));
    m.end(0, t0 + seconds(60) + milliseconds(500));                // a refused request: 0 tokens, 0.5 s busy
    EXPECT_DOUBLE_EQ(m.tokens_per_second(t0 + seconds(70)), 600 / 5.5);
}

TEST(HourlyPrice, CostIsTheMachinesPriceOfTheSecondsTheTokensTake) {
    // $0.36/h = $0.0001/s; at 120 tokens/s, 60 tokens take 0.5 s: $0.00005.
    EXPECT_DOUBLE_EQ(hourly_cost_usd(0.36, 60, 120), 0.00005);
    // $0.20/h at 50 tokens/s: 1000 tokens take 20 s = 1/180 h: $0.20/180.
    EXPECT_DOUBLE_EQ(hourly_cost_usd(0.20, 1000, 50), 0.20 / 180);
    // A month of a $0.20/h machine busy all the time (30 × 24 h at 100 tokens/s): $144.
    EXPECT_NEAR(hourly_cost_usd(0.20, 100.0 * 3600 * 24 * 30, 100), 144, 1e-9);
    EXPECT_EQ(hourly_cost_usd(0.36, 60, 0), 0);  // nothing measured
    EXPECT_EQ(hourly_cost_usd(0.36, 0, 120), 0);
}

TEST(HourlyPrice, BeforeAnyMeasurementTheRequestsOwnTimeIsCharged) {
    auto fake = std::make_shared<test::FakeProvider>();
    MeteredProvider hourly("small", fake, Pricing{0, 0, 0.36}, false);
    // 100 prompt tokens of which 60 came from the prefix cache, 20 generated, in 2 s: the machine's 2 s.
    EXPECT_DOUBLE_EQ(hourly.cost(100, 20, 2.0, 60), 0.0002);
    EXPECT_DOUBLE_EQ(hourly.cost(100, 20, 2.0), 0.0002);
    EXPECT_EQ(hourly.cost(100, 0, 2.0, 100), 0);  // nothing computed: nothing charged
}

TEST(TokenPrice, PromptAndCompletionAtTheirPricesPerMillion) {
    auto fake = std::make_shared<test::FakeProvider>();
    MeteredProvider large("large", fake, Pricing{1.25, 10, 0}, true);
    // 1000 × $1.25/1M + 200 × $10/1M = $0.00125 + $0.002.
    EXPECT_DOUBLE_EQ(large.cost(1000, 200, 3.0), 0.00325);
    EXPECT_DOUBLE_EQ(large.cost(1000, 200, 3.0, 900), 0.00325);  // a remote bills every prompt token
}

TEST(TokenPrice, TheAttemptCarriesTheCost) {
    test::Script s;
    s.prompt_tokens = 1000;
    s.completion_tokens = 200;
    auto fake = std::make_shared<test::FakeProvider>(std::vector<test::Script>{s});
    auto large = std::make_shared<MeteredProvider>("large", fake, Pricing{1.25, 10, 0}, true);
    std::optional<GenerationResult> got;
    GenerationCallbacks cb;
    cb.on_done = [&](GenerationResult&& r) { got = std::move(r); };
    large->start(GenerationRequest{}, std::move(cb));
    ASSERT_TRUE(got);
    ASSERT_EQ(got->trace.attempts.size(), 1u);
    EXPECT_DOUBLE_EQ(got->trace.attempts[0].cost_usd, 0.00325);
    EXPECT_TRUE(got->trace.attempts[0].remote);
    EXPECT_EQ(got->trace.provider, "large");
}

}  // namespace
}  // namespace kinglet::router
