// The report of a run over several targets: each target's summary (metrics with intervals, signals,
// tokens, cost at its price), the paired comparison of every two targets on the cases both answered,
// as JSON (the --json output and the HTML report's input) and as a terminal table.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/cascade_report.h"
#include "eval/runner.h"

namespace kinglet::eval {

struct ReportOptions {
    std::string data, split;
    std::vector<std::string> labels;
    std::string grader;
    std::vector<std::optional<Price>> prices;  // per target (nullopt: unknown, no cost reported)
    std::optional<Price> judge_price;          // judge grading: its tokens are added to each target's cost
    BootstrapOptions bootstrap;
};

nlohmann::ordered_json run_report(const std::vector<Target*>& targets, const RunOutcome& run, const ReportOptions& opt);

// The cascade of targets[small] and targets[large] calibrated from the run's rows (calibrate_cascade):
// the small step's signal swept on the calibration split, the threshold checked on the test split.
nlohmann::ordered_json cascade_from_run(const RunOutcome& run, size_t small, size_t large, const CascadeOptions& opt);

// One target: its full summary (per-class table, confusion); several: a side-by-side table, then the
// paired comparisons.
std::string format_run_report(const nlohmann::ordered_json& report);

}  // namespace kinglet::eval
