// The --project arithmetic against values worked out by hand.
#include <gtest/gtest.h>

#include "core/error.h"
#include "ledger/projection.h"

namespace kinglet::ledger {
namespace {

ProjectionInput example() {
    ProjectionInput in;
    in.requests_per_day = 10000;
    in.input_tokens = 500;
    in.output_tokens = 200;
    in.api_input_per_mtok = 1.25;
    in.api_output_per_mtok = 10;
    in.prefill_tps = 400;
    in.decode_tps = 50;
    in.machine_usd_per_hour = 0.20;
    in.escalation_rate = 0.1;
    in.peak_factor = 2;
    in.days_per_month = 30;
    return in;
}

TEST(Projection, HandWorkedExample) {
    const Projection p = project(example());
    // API: (500 x 1.25 + 200 x 10) / 1e6 = $0.002625 a request; 300 000 requests a month = $787.50.
    EXPECT_DOUBLE_EQ(p.api_usd_per_request, 0.002625);
    EXPECT_DOUBLE_EQ(p.monthly_requests, 300000);
    // Local: 500/400 + 200/50 = 5.25 s a request; 10 000 x 5.25 / 86 400 = 0.6076 machines busy on
    // average, x2 at peak = 1.215 -> 2 machines x $0.20 x 24 h x 30 days = $288.
    EXPECT_DOUBLE_EQ(p.local_seconds_per_request, 5.25);
    ASSERT_EQ(p.options.size(), 3u);
    const auto &api = p.options[0], &slm = p.options[1], &hybrid = p.options[2];
    EXPECT_EQ(api.name, "all_api");
    EXPECT_DOUBLE_EQ(api.monthly_usd, 787.5);
    EXPECT_DOUBLE_EQ(api.usd_per_1k_requests, 2.625);
    EXPECT_EQ(api.machines, 0);
    EXPECT_DOUBLE_EQ(api.savings_vs_api_usd, 0);
    EXPECT_EQ(slm.name, "all_slm");
    EXPECT_EQ(slm.machines, 2);
    EXPECT_DOUBLE_EQ(slm.monthly_usd, 288);
    EXPECT_DOUBLE_EQ(slm.api_usd, 0);
    EXPECT_NEAR(slm.utilization, 52500.0 / 86400 / 2, 1e-12);
    EXPECT_DOUBLE_EQ(slm.savings_vs_api_usd, 499.5);
    EXPECT_NEAR(slm.savings_vs_api_fraction, 499.5 / 787.5, 1e-12);
    // Hybrid: the same machines (every request starts local) + 10% of the API bill = 288 + 78.75.
    EXPECT_EQ(hybrid.name, "hybrid");
    EXPECT_DOUBLE_EQ(hybrid.api_usd, 78.75);
    EXPECT_DOUBLE_EQ(hybrid.local_usd, 288);
    EXPECT_DOUBLE_EQ(hybrid.monthly_usd, 366.75);
    EXPECT_DOUBLE_EQ(hybrid.savings_vs_api_usd, 420.75);
    EXPECT_NEAR(hybrid.usd_per_1k_requests, 1.2225, 1e-12);
}

TEST(Projection, MachinesAreWholeAndAtLeastOne) {
    ProjectionInput in = example();
    in.requests_per_day = 0;
    Projection p = project(in);
    EXPECT_EQ(p.options[1].machines, 1);  // an idle machine still costs its hours
    EXPECT_DOUBLE_EQ(p.options[1].monthly_usd, 0.2 * 24 * 30);
    EXPECT_DOUBLE_EQ(p.options[0].monthly_usd, 0);
    EXPECT_DOUBLE_EQ(p.options[1].savings_vs_api_fraction, 0);
    EXPECT_DOUBLE_EQ(p.options[1].usd_per_1k_requests, 0);
    // Exactly 3 machines' worth of work at peak needs 3 machines, not 4.
    in = example();
    in.peak_factor = 1;
    in.requests_per_day = 3 * 86400 / 5.25;
    p = project(in);
    EXPECT_EQ(p.options[1].machines, 3);
    EXPECT_NEAR(p.options[1].utilization, 1.0, 1e-12);
}

TEST(Projection, ZeroEscalationHybridCostsWhatAllSlmCosts) {
    ProjectionInput in = example();
    in.escalation_rate = 0;
    const Projection p = project(in);
    EXPECT_DOUBLE_EQ(p.options[2].monthly_usd, p.options[1].monthly_usd);
    in.escalation_rate = 1;
    EXPECT_DOUBLE_EQ(project(in).options[2].monthly_usd, 787.5 + 288);
}

TEST(Projection, BadInputsNameTheField) {
    auto err = [](auto mutate) {
        ProjectionInput in = example();
        mutate(in);
        try {
            project(in);
        } catch (const Error& e) {
            return std::string(e.what());
        }
        return std::string("(no error)");
    };
    EXPECT_NE(err([](auto& in) { in.escalation_rate = 1.5; }).find("escalation_rate"), std::string::npos);
    EXPECT_NE(err([](auto& in) { in.decode_tps = 0; }).find("decode_tps"), std::string::npos);
    EXPECT_NE(err([](auto& in) { in.input_tokens = -1; }).find("input_tokens"), std::string::npos);
    EXPECT_NE(err([](auto& in) { in.peak_factor = 0.5; }).find("peak_factor"), std::string::npos);
    EXPECT_NE(err([](auto& in) { in.api_input_per_mtok = NAN; }).find("api_input_per_mtok"), std::string::npos);
}

TEST(Projection, JsonAndTextCarryTheNumbers) {
    const Projection p = project(example());
    const auto j = to_json(p);
    EXPECT_DOUBLE_EQ(j["options"][2]["monthly_usd"].get<double>(), 366.75);
    EXPECT_EQ(j["options"][1]["machines"].get<int>(), 2);
    EXPECT_DOUBLE_EQ(j["input"]["escalation_rate"].get<double>(), 0.1);
    const std::string text = format_projection(p);
    EXPECT_NE(text.find("787.50"), std::string::npos) << text;
    EXPECT_NE(text.find("366.75"), std::string::npos) << text;
}

}  // namespace
}  // namespace kinglet::ledger
