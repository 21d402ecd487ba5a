// The HTML report from a hand-built JSON report: text is escaped, and the marks match the data (one
// table row per target, one point per curve point, one bar per non-empty reliability bin, one confusion
// row per label). tests/e2e/eval_html.sh opens real reports in Chromium.
#include "eval/html_report.h"

#include <gtest/gtest.h>

#include <regex>
#include <string>

using nlohmann::ordered_json;

namespace {
size_t count(const std::string& s, const std::string& needle) {
    size_t n = 0;
    for (size_t p = s.find(needle); p != std::string::npos; p = s.find(needle, p + needle.size())) ++n;
    return n;
}
ordered_json iv(double e, double lo, double hi) { return {{"estimate", e}, {"lo", lo}, {"hi", hi}}; }
}  // namespace

TEST(HtmlReport, MarksMatchTheData) {
    ordered_json summary = {
        {"n", 10},
        {"accuracy", iv(0.7, 0.4, 0.9)},
        {"macro_f1", iv(0.65, 0.3, 0.9)},
        {"per_class",
         {{{"label", "a"}, {"precision", 1.0}, {"recall", 0.5}, {"f1", 0.6667}, {"support", 4}},
          {{"label", "b<x>"}, {"precision", 0.6}, {"recall", 1.0}, {"f1", 0.75}, {"support", 6}}}},
        {"confusion", {{"matrix", {{2, 2, 0}, {0, 6, 0}}}}},
        {"signals", {{"label_prob", {{"auroc", 0.8}}}}},
        {"reliability",
         {{"signal", "label_prob"},
          {"count", {0, 0, 0, 0, 0, 3, 0, 0, 7, 0}},
          {"confidence", {nullptr, nullptr, nullptr, nullptr, nullptr, 0.55, nullptr, nullptr, 0.85, nullptr}},
          {"accuracy", {nullptr, nullptr, nullptr, nullptr, nullptr, 0.33, nullptr, nullptr, 0.86, nullptr}},
          {"ece", 0.05}}}};
    ordered_json report = {
        {"data", "cases & more.jsonl"},
        {"targets",
         {{{"name", "<script>alert(1)</script>"}, {"spec", "local:x"}, {"summary", summary}},
          {{"name", "large"}, {"spec", "route:y"}, {"summary", summary}, {"cost", {{"mean", 0.001}, {"total", 0.01}}},
           {"routing", {{"escalated", 2}, {"escalation_rate", iv(0.2, 0.05, 0.45)}}}}}},
        {"cascade",
         {{"signal", "label_prob"},
          {"n_calibration", 5},
          {"curve",
           {{{"threshold", 0.5}, {"escalation_rate", 0.0}, {"accuracy", 0.6}, {"mean_cost", 0.0001}},
            {{"threshold", 0.7}, {"escalation_rate", 0.4}, {"accuracy", 0.8}, {"mean_cost", 0.0005}},
            {{"threshold", nullptr}, {"escalation_rate", 1.0}, {"accuracy", 0.9}, {"mean_cost", 0.0011}}}},
          {"chosen", {{"threshold", 0.7}, {"calibration_escalation_rate", 0.4}, {"calibration_accuracy", 0.8}}},
          {"test", {{"accuracy", iv(0.75, 0.5, 0.9)}, {"escalation_rate", iv(0.3, 0.1, 0.5)}, {"mean_cost", iv(1e-4, 0, 2e-4)}}}}}};
    const std::string html = kinglet::eval::html_report(report);
    EXPECT_EQ(html.find("<script>alert"), std::string::npos);
    EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
    EXPECT_NE(html.find("cases &amp; more.jsonl"), std::string::npos);
    EXPECT_NE(html.find("b&lt;x&gt;"), std::string::npos);
    EXPECT_EQ(count(html, "class=target-point"), 2u);
    EXPECT_EQ(count(html, "class=curve-point"), 6u);  // 3 in each of the two charts
    EXPECT_EQ(count(html, "class=chosen"), 1u);
    EXPECT_EQ(count(html, "<rect class=bar"), 4u);     // 2 non-empty bins, 2 targets
    EXPECT_EQ(count(html, "<table class=confusion"), 2u);
    EXPECT_EQ(count(html, "<td class=\"diag\""), 4u);  // 2 labels, 2 targets
    EXPECT_NE(html.find("0.700 <span class=ci>[0.400, 0.900]</span>"), std::string::npos);
    // The route's escalation rate in its row; the other target has none.
    EXPECT_EQ(count(html, "<td class=escalation"), 2u);
    EXPECT_NE(html.find("<td class=escalation data-v=\"0.2\">0.200 <span class=ci>[0.050, 0.450]</span>"), std::string::npos);
    EXPECT_NE(html.find("<td class=escalation data-v=\"-1\">n/a</td>"), std::string::npos);
    // No external resources: nothing is fetched when the file is opened offline.
    EXPECT_EQ(html.find("http://"), std::string::npos);
    EXPECT_EQ(html.find("https://"), std::string::npos);
    EXPECT_EQ(html.find(" src="), std::string::npos);
}

TEST(HtmlReport, EmptyReportStillRenders) {
    const std::string html = kinglet::eval::html_report(ordered_json::object());
    EXPECT_NE(html.find("<table id=targets"), std::string::npos);
    EXPECT_NE(html.find("</html>"), std::string::npos);
}

// --traffic's projection (ledger::to_json) becomes table#projection, one row per option, the figures as given.
TEST(HtmlReport, ProjectionTable) {
    auto option = [](const char* name, double monthly, double api, double local, int machines, double saved) {
        return ordered_json{{"name", name}, {"monthly_usd", monthly}, {"api_usd", api}, {"local_usd", local},
                            {"machines", machines}, {"utilization", machines ? 0.25 : 0.0},
                            {"usd_per_1k_requests", monthly / 300000 * 1000}, {"savings_vs_api_usd", 0},
                            {"savings_vs_api_fraction", saved}};
    };
    // 10000 requests/day x 30 days; 1000 + 100 tokens at $1/$10 per M = $0.002 a request = $600 a month on the API;
    // one machine at $0.5/hour = $360; the cascade escalates 10%: $60 + $360.
    ordered_json proj = {{"input", {{"requests_per_day", 10000}, {"days_per_month", 30}, {"input_tokens", 1000},
                                    {"output_tokens", 100}, {"api_input_per_mtok", 1}, {"api_output_per_mtok", 10},
                                    {"machine_usd_per_hour", 0.5}, {"peak_factor", 1}, {"escalation_rate", 0.1}}},
                         {"monthly_requests", 300000},
                         {"api_usd_per_request", 0.002},
                         {"local_seconds_per_request", 0.5},
                         {"options", {option("all_api", 600, 600, 0, 0, 0), option("all_slm", 360, 0, 360, 1, 0.4),
                                      option("hybrid", 420, 60, 360, 1, 0.3)}}};
    ordered_json report = {{"targets", ordered_json::array()}, {"cascade", {{"projection", proj}}}};
    const std::string html = kinglet::eval::html_report(report);
    ASSERT_EQ(count(html, "<table id=projection>"), 1u);
    EXPECT_EQ(count(html, "<tr data-option="), 3u);
    EXPECT_NE(html.find("<tr data-option=\"hybrid\">"), std::string::npos);
    EXPECT_NE(html.find("<td class=monthly data-v=\"420\">420.00</td>"), std::string::npos);
    EXPECT_NE(html.find("<td class=api data-v=\"60\">60.00</td>"), std::string::npos);
    EXPECT_NE(html.find("<td class=savings data-v=\"0.29999999999999999\">-30.0%</td>"), std::string::npos);
    EXPECT_NE(html.find("escalates 10.0%"), std::string::npos);
    // Without a projection, no table.
    EXPECT_EQ(count(kinglet::eval::html_report({{"targets", ordered_json::array()}}), "id=projection"), 0u);
}
