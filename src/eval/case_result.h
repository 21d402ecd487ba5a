// One graded case of an evaluation run, as the run keeps it in memory and the summaries read it.
#pragma once
#include <cmath>
#include <cstdint>

namespace kinglet::eval {

// One graded case as the run keeps it until the end (the results file keeps all of it): only what the
// summaries, intervals, comparisons and calibration use, so memory per case is a hundred-odd bytes
// whatever the answers and the route's attempts (a dataset of 100k cases stays in tens of MB).
struct CaseResult {
    uint64_t line = 0;
    uint32_t id_offset = 0, id_size = 0;  // the case id, in TargetRun::ids
    double label_prob = NAN, margin = NAN, mean_logprob = NAN, min_logprob = NAN;  // NaN: not given
    double latency_ms = 0;
    double cost_usd = NAN;        // what the router priced the request at (NaN: not priced)
    double judge_cost_usd = NAN;  // the judge's request, priced by the router
    int32_t prompt_tokens = 0, completion_tokens = 0;
    int32_t judge_prompt_tokens = 0, judge_completion_tokens = 0;
    int32_t fields = 0, fields_correct = 0;  // JSON tasks
    int32_t expected = -1, predicted = -1;   // classification: label indexes (predicted -1: none)
    uint16_t split = 0, provider = 0;        // in TargetRun::names
    bool correct = false, failed = false, judged = false, json_valid = true;
    int8_t escalated = -1;     // routes: 1 escalated, 0 not; -1 not a route
    int8_t schema_valid = -1;  // --json-schema: 1 valid, 0 not; -1 not checked
};

}  // namespace kinglet::eval
