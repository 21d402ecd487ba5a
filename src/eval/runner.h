// Running a dataset through one or more targets: the cases are streamed from the file (never held in
// memory), each target answers each case, answers are graded and written, in dataset order, to a
// results file a later run resumes from. Provider targets keep up to `jobs` requests in flight (a
// bounded window over (case, target) pairs, drained in order, so memory does not grow with the dataset
// and the results file stays ordered).
//
// The results file: a first line with the run's settings (a file written with other settings is
// refused), then one JSON object per (case, target) with the case (id, line, split, expected), the
// target's name, the answer, `correct`, every confidence signal, tokens and latency (and the judge's
// verdict and tokens for judge grading). A line cut by an interruption, and rows of failed requests,
// are dropped and redone on resume. Summaries are computed from these rows alone, in dataset order,
// so a resumed run ends with exactly the numbers of an uninterrupted one.
#pragma once
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/dataset.h"
#include "eval/json_schema.h"
#include "eval/summary.h"
#include "eval/target.h"

namespace kinglet::eval {

struct RunSettings {
    std::string data;
    std::optional<Format> format;
    FieldMap fields;
    SplitSpec split;
    std::vector<Split> only;  // empty: every split
    size_t limit = 0;         // 0: no limit
    bool stratify = false;
    std::string template_source;
    TaskSpec task;
    std::string grader = "exact";  // text tasks: exact, contains, regex, json, judge
    bool ignore_case = false;
    Target* judge = nullptr;       // grader judge
    const JsonSchema* schema = nullptr;  // grader json: the extracted object must also validate against it
    std::string rubric;            // grader judge: instructions (Jinja when it holds "{{")
    std::string results;           // "" = no results file
    nlohmann::ordered_json header;  // the run's settings, first line of the results file
    int jobs = 1;                   // requests in flight
    bool quiet = false;
};

// One target's graded cases, in dataset order.
struct TargetRun {
    std::vector<CaseResult> rows;
    std::string ids;                 // every case id, back to back
    std::vector<std::string> names;  // split and provider names ("" first)
    int64_t judge_prompt_tokens = 0, judge_completion_tokens = 0;

    std::string_view id(const CaseResult& r) const { return std::string_view(ids).substr(r.id_offset, r.id_size); }
    const std::string& split(const CaseResult& r) const { return names.at(r.split); }
    const std::string& provider(const CaseResult& r) const { return names.at(r.provider); }
};

struct RunOutcome {
    std::vector<TargetRun> targets;
    uint64_t bad_rows = 0;
    uint64_t unknown_label_rows = 0;
    uint64_t skipped_rows = 0;  // expected value not fit for the grader
    uint64_t failed = 0;        // requests that failed in this run (recorded as wrong)
};

// Throws Error for unreadable data or a results file written with other settings.
RunOutcome run_cases(const std::vector<Target*>& targets, const RunSettings& settings);

// The judge's request for one answer, and its verdict: "PASS" or "FAIL" anywhere in its reply (the
// first one found; neither counts as FAIL).
std::string judge_prompt(const std::string& rubric, const std::string& input, const nlohmann::ordered_json& expected,
                         const std::string& answer);
std::optional<bool> judge_verdict(const std::string& reply);

}  // namespace kinglet::eval
