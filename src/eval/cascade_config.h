// The cascade route of a kinglet config file, as `kinglet eval --calibrate ROUTE` needs it: the small
// step and the large step as eval targets (a `models:` entry is a local file, a `providers:` entry a
// remote provider), the small step's confidence signal and threshold, the route's labels and each
// step's price; and writing a new threshold back into the file in place (the rest of the file, its
// comments and layout, untouched).
//
// The config shape (docs/config.md):
//   models:    { NAME: { path: FILE.gguf, price: { input_per_mtok, output_per_mtok }, price_per_hour_usd } }
//   providers: { NAME: { base_url, model, price: { input_per_mtok, output_per_mtok }, ... } }
//   routes:    { ROUTE: { policy: cascade, labels: [...],
//                         steps: [ { target: NAME, signal: label_prob, min_confidence: 0.8 }, { target: NAME } ] } }
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "eval/cascade_report.h"
#include "eval/target.h"

namespace kinglet::eval {

struct CascadeStep {
    std::string name;  // the models:/providers: entry
    TargetSpec target;
    std::optional<Price> price;
    std::optional<double> usd_per_hour;  // models: `price_per_hour_usd`, the machine's cost
};

struct CascadeRoute {
    std::string route;
    std::vector<std::string> labels;  // empty: not a classification route
    CascadeStep small, large;         // the first two steps
    std::string signal = "label_prob";
    std::optional<double> min_confidence;
    // Where the first step's min_confidence value is written in the file (0-based line and column,
    // and its length), when it is there.
    std::optional<size_t> threshold_line, threshold_column, threshold_length;
};

// Reads `path`. Throws Error(not_found) for a missing file, Error(invalid_file) naming the file and
// what is wrong for a route that is missing, not a cascade, or has fewer than two steps, or a step
// naming nothing the file declares.
CascadeRoute read_cascade_route(const std::string& path, const std::string& route);

// Writes `threshold` as the route's first-step min_confidence in `path`: the value is replaced where
// it stands, or `min_confidence` is added to the step when it has none. Throws Error(io / invalid_file).
void write_cascade_threshold(const std::string& path, const std::string& route, double threshold);

}  // namespace kinglet::eval
