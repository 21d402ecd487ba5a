// Calibrating a two-step cascade from two `kinglet eval --results` files (the small and the large
// target run on the same cases): sweep a confidence signal of the small step on the calibration split,
// choose the threshold for an objective, and report it on the untouched test split.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/calibrate.h"

namespace kinglet::eval {

struct ResultRow {
    std::string id, split;
    bool correct = false;
    double label_prob = 0, margin = 0, mean_logprob = 0, min_logprob = 0;
    int prompt_tokens = 0, completion_tokens = 0;
};
// The case lines of a results file (the settings line and a torn last line are skipped). A file of a
// run over several targets holds rows of each ("target" field): `target` chooses one, and must be
// given when there are several. Failed requests (rows with "error") count as wrong answers. Throws
// Error(not_found / invalid_file / invalid_argument) naming the file and line.
std::vector<ResultRow> read_results(const std::string& path, const std::string& target = "");
// One results row (Error(invalid_argument) for a row without the fields).
ResultRow result_row(const nlohmann::ordered_json& row);

// The signal names a results row carries: label_prob, margin, mean_logprob, min_logprob.
const std::vector<std::string>& signal_names();
double signal_value(const ResultRow& r, const std::string& signal);  // Error(invalid_argument) if unknown

struct Price {
    double input_per_mtok = 0, output_per_mtok = 0;  // USD per million tokens
    double cost(const ResultRow& r) const {
        return (r.prompt_tokens * input_per_mtok + r.completion_tokens * output_per_mtok) / 1e6;
    }
};

// "INPUT,OUTPUT" USD per million tokens; Error(invalid_argument) naming `flag` otherwise.
Price parse_price(const std::string& flag, const std::string& text);

struct CascadeOptions {
    std::string signal = "label_prob";
    Objective objective;
    Price small_price, large_price;
    std::string calibration_split = "calibration", test_split = "test";
    BootstrapOptions bootstrap;
};

// Cases are matched by id; a case missing from the large results is an Error(invalid_argument).
// The JSON holds: the curve on the calibration split, the chosen threshold (null when the objective
// cannot be met), the cascade at that threshold on the test split with intervals, the small and large
// targets alone on the test split, every signal's AUROC on the calibration split, and the router
// config snippet.
nlohmann::ordered_json calibrate_cascade(const std::vector<ResultRow>& small, const std::vector<ResultRow>& large,
                                         const CascadeOptions& opt);
std::string format_cascade(const nlohmann::ordered_json& report);

}  // namespace kinglet::eval
