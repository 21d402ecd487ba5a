// The summary of an evaluation run: metrics with bootstrap intervals and the AUROC of each confidence
// signal, as JSON (the --json output) and as a terminal table.
#pragma once
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/case_result.h"
#include "eval/metrics.h"

namespace kinglet::eval {

// A free-text or JSON run (json_task: validity, field accuracy and schema validity too).
nlohmann::ordered_json text_summary(std::span<const CaseResult> records, bool json_task,
                                    const BootstrapOptions& opt = {});

nlohmann::ordered_json classification_summary(const std::vector<std::string>& labels,
                                              std::span<const CaseResult> records,
                                              const BootstrapOptions& opt = {});
std::string format_summary(const nlohmann::ordered_json& summary);

}  // namespace kinglet::eval
