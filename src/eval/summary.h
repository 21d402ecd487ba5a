// The summary of a classification run: metrics with bootstrap intervals and the AUROC of each
// confidence signal, as JSON (the --json output) and as a terminal table.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/metrics.h"

namespace kinglet::eval {

// One classified case, as stored in the results file.
struct CaseRecord {
    int expected = -1;   // label index
    int predicted = -1;  // label index (-1: none)
    double label_prob = 0, margin = 0, mean_logprob = 0, min_logprob = 0;
    int prompt_tokens = 0, completion_tokens = 0;
    double latency_ms = 0;
};

// One free-text or JSON case.
struct TextRecord {
    bool correct = false;
    bool valid = true;               // JSON tasks: the answer held a JSON object
    int fields = 0, fields_correct = 0;  // JSON tasks
    int schema_valid = -1;               // JSON tasks with --json-schema: 1 valid, 0 not; -1 not checked
    double mean_logprob = 0, min_logprob = 0;
    int prompt_tokens = 0, completion_tokens = 0;
    double latency_ms = 0;
};

nlohmann::ordered_json text_summary(const std::vector<TextRecord>& records, bool json_task,
                                    const BootstrapOptions& opt = {});

nlohmann::ordered_json classification_summary(const std::vector<std::string>& labels,
                                              const std::vector<CaseRecord>& records,
                                              const BootstrapOptions& opt = {});
std::string format_summary(const nlohmann::ordered_json& summary);

}  // namespace kinglet::eval
