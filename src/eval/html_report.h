// The self-contained HTML report of an eval run: one file, no network (inline CSS and SVG, a few lines
// of inline JS for sorting the table), so it can be mailed, attached to a ticket or opened offline.
//
// It is a pure function of the run's JSON report (the `--json` output of `kinglet eval`):
//   {"data": ..., "targets": [{"name", "spec", "summary": <classification or text summary>,
//                               "cost": {"mean", "total"}?, "routing": {"escalation_rate": interval}?}],
//    "comparisons": [{"a", "b", "a_only_correct", "b_only_correct", "mcnemar_exact_p",
//                     "accuracy_difference": interval}],
//    "cascade": <calibrate_cascade report, with "projection": ledger::to_json(Projection) under --traffic>?}
// and shows the side-by-side table of targets (every headline metric with its interval, a route's
// escalation rate in td.escalation), the paired
// comparisons, the cost–accuracy chart (each target alone, plus the cascade's curve when calibrated),
// the cascade's escalation-rate → accuracy curve, and per classification target the reliability
// diagram and the confusion matrix; with a projection, the month at the user's traffic three ways.
//
// Elements carry stable ids and classes so tools (and the tests) can find them: table#targets
// (one tbody row per target), table#comparisons, svg#cost-accuracy (circle.target-point per target,
// circle.curve-point per cascade curve point), svg#escalation-curve (circle.curve-point per point),
// svg.reliability (rect.bar per non-empty bin), table.confusion (one tbody row per label), and with a
// cascade.projection (--traffic) table#projection: one tbody row per option (tr[data-option=all_api|all_slm|
// hybrid]) whose cells td.monthly, td.api, td.local, td.busy, td.per1k, td.savings carry the exact value in data-v.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace kinglet::eval {

std::string html_report(const nlohmann::ordered_json& report);

// Writes html_report(report) to `path`; throws Error(io) naming the file when it cannot be written.
void write_html_report(const std::string& path, const nlohmann::ordered_json& report);

}  // namespace kinglet::eval
