// Metrics of an eval run: classification (accuracy, per-class precision/recall/F1, macro-F1, confusion
// matrix), ranking (AUROC as the Mann–Whitney statistic), text graders (exact, contains, regex),
// seeded percentile-bootstrap confidence intervals, and paired comparisons of two targets on the same
// cases (McNemar's exact test on correctness, plus a paired-bootstrap interval of the difference).
//
// Everything is a pure function of its inputs; the bootstrap draws from a seeded generator whose
// index stream is fixed on every platform, so the same seed gives the same interval everywhere.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kinglet::eval {

// Classification over declared labels. `expected` and `predicted` hold label indices; a predicted
// index of -1 (no valid label) counts as wrong and lands in the confusion matrix's last column.
struct ClassMetrics {
    std::vector<std::string> labels;
    // confusion[e][p]: cases expected e, predicted p; column labels.size() counts "no valid label".
    std::vector<std::vector<int64_t>> confusion;
    std::vector<double> precision, recall, f1;  // per label; 0 when the denominator is 0 (sklearn's zero_division=0)
    std::vector<int64_t> support;               // cases expected to be each label
    double accuracy = 0;
    double macro_f1 = 0;  // unweighted mean of f1 over every declared label
    int64_t n = 0;
};
ClassMetrics classification_metrics(const std::vector<std::string>& labels, std::span<const int> expected,
                                     std::span<const int> predicted);

// Area under the ROC curve of `scores` for separating positives (true) from negatives: the
// probability that a random positive scores above a random negative, ties counting one half
// (the Mann–Whitney U statistic / (n_pos * n_neg)). NaN when either class is empty.
double auroc(std::span<const double> scores, std::span<const bool> positive);

// Reliability diagram of probabilities in [0, 1]: `bins` equal-width bins ([0, 1/b), ..., [(b-1)/b, 1]);
// per bin the count, mean confidence and accuracy (NaN when empty), and the expected calibration error
// sum_b (n_b / n) |accuracy_b - confidence_b|.
struct Reliability {
    std::vector<int64_t> count;
    std::vector<double> confidence, accuracy;
    double ece = 0;
};
Reliability reliability(std::span<const double> probability, std::span<const bool> correct, int bins = 10);

// Graders for free text. exact: equal after trimming ASCII whitespace (case-insensitive when asked).
// contains: the reference occurs in the prediction. regex: the PCRE2 pattern matches somewhere in the
// prediction (UTF-8); an invalid pattern throws Error(invalid_argument) naming it.
bool grade_exact(std::string_view prediction, std::string_view reference, bool ignore_case = false);
bool grade_contains(std::string_view prediction, std::string_view reference, bool ignore_case = false);
class RegexGrader {
public:
    explicit RegexGrader(const std::string& pattern);
    ~RegexGrader();
    RegexGrader(RegexGrader&&) noexcept;
    RegexGrader& operator=(RegexGrader&&) noexcept;
    bool operator()(std::string_view prediction) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

struct Interval {
    double estimate = 0;  // the statistic on the full sample
    double lo = 0, hi = 0;
    double level = 0.95;
};

struct BootstrapOptions {
    int resamples = 1000;
    uint64_t seed = 20240601;
    double level = 0.95;
};

// The percentile bootstrap: resample the n cases with replacement `resamples` times, evaluate
// `statistic` on each resample (given the drawn case indices), and take the (1-level)/2 and
// (1+level)/2 quantiles (linear interpolation between order statistics). n == 0 gives NaNs.
using Statistic = std::function<double(std::span<const size_t> indices)>;
Interval bootstrap(size_t n, const Statistic& statistic, const BootstrapOptions& opt = {});
// Shortcut for the mean of per-case values (accuracy from 0/1 correctness, mean cost, ...).
Interval bootstrap_mean(std::span<const double> values, const BootstrapOptions& opt = {});

// Two targets on the same cases. McNemar's exact test: b = A right and B wrong, c = A wrong and B
// right; p = two-sided binomial(b + c, 1/2) probability of a split at least as uneven (1 when b + c
// == 0). The interval is the paired bootstrap of accuracy(A) - accuracy(B) (the same resampled cases
// for both targets).
struct PairedComparison {
    int64_t a_only = 0, b_only = 0, both = 0, neither = 0;
    double mcnemar_p = 1;
    Interval difference;  // accuracy A minus accuracy B
};
PairedComparison compare_paired(std::span<const bool> correct_a, std::span<const bool> correct_b,
                                const BootstrapOptions& opt = {});

// Deterministic 64-bit generator used by the bootstrap and by dataset splits (SplitMix64): the same
// seed gives the same stream on every platform and standard library.
class SplitMix64 {
public:
    explicit SplitMix64(uint64_t seed) : s_(seed) {}
    uint64_t next();
    // Uniform in [0, n), unbiased (rejection), n > 0.
    uint64_t below(uint64_t n);
    double unit();  // uniform in [0, 1) with 53 bits

private:
    uint64_t s_;
};
uint64_t mix64(uint64_t x);  // SplitMix64's finaliser: a good hash of one 64-bit value

}  // namespace kinglet::eval
