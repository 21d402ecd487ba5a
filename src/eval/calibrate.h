// Threshold calibration for a two-step cascade: the small model answers unless its confidence is
// below a threshold, then the large model answers (both are paid for on escalated cases).
//
// Pure functions over per-case records, so the same code calibrates from a fresh run or a results
// file. A threshold t means "escalate when confidence < t" (the router's min_confidence).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "eval/metrics.h"

namespace kinglet::eval {

struct CascadeCase {
    double confidence = 0;  // the small step's signal (higher = more confident)
    bool small_correct = false;
    bool large_correct = false;
    double small_cost = 0;  // USD (or any unit) of answering with each step
    double large_cost = 0;
};

struct CurvePoint {
    double threshold = 0;
    double escalation_rate = 0;
    double accuracy = 0;
    double mean_cost = 0;  // per case
};

// One point per distinct confidence value (escalating everything below it) plus "escalate all"
// (threshold +inf), ordered by increasing escalation rate. Empty input gives an empty curve.
std::vector<CurvePoint> sweep(const std::vector<CascadeCase>& cases);

struct Objective {
    enum class Kind { target_escalation, target_accuracy, within_large } kind = Kind::target_escalation;
    // target_escalation: the largest escalation rate <= value; target_accuracy: the cheapest point with
    // accuracy >= value; within_large: the cheapest point with accuracy >= (large alone) - value.
    double value = 0.05;
};
// Parses "escalation=5%", "escalation=0.05", "accuracy=0.94", "within=2" (points, i.e. 0.02);
// throws Error(invalid_argument) otherwise.
Objective parse_objective(const std::string& text);

// The chosen point, or nullopt when no point meets the objective (e.g. an accuracy nothing reaches).
std::optional<CurvePoint> choose(const std::vector<CurvePoint>& curve, const Objective& objective,
                                 double large_alone_accuracy);

// The cascade at a threshold on (held-out) cases, with bootstrap intervals.
struct CascadeEval {
    double threshold = 0;
    size_t n = 0;
    Interval accuracy, escalation_rate, mean_cost;
};
CascadeEval evaluate_threshold(const std::vector<CascadeCase>& cases, double threshold,
                               const BootstrapOptions& opt = {});

// How well the signal separates the small step's correct answers from its wrong ones (AUROC, NaN
// when all are right or all wrong).
double signal_auroc(const std::vector<CascadeCase>& cases);

}  // namespace kinglet::eval
