#include "eval/metrics.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/error.h"

namespace kinglet::eval {

uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t SplitMix64::next() {
    s_ += 0x9e3779b97f4a7c15ULL;
    return mix64(s_);
}

uint64_t SplitMix64::below(uint64_t n) {
    // Reject the top partial copy of [0, n) so every value is equally likely.
    const uint64_t limit = std::numeric_limits<uint64_t>::max() - std::numeric_limits<uint64_t>::max() % n;
    for (;;) {
        uint64_t r = next();
        if (r < limit) return r % n;
    }
}

double SplitMix64::unit() { return double(next() >> 11) * 0x1.0p-53; }

ClassMetrics classification_metrics(const std::vector<std::string>& labels, std::span<const int> expected,
                                    std::span<const int> predicted) {
    if (expected.size() != predicted.size())
        fail(Errc::internal, "classification_metrics: {} expected vs {} predicted", expected.size(),
             predicted.size());
    const size_t k = labels.size();
    ClassMetrics m;
    m.labels = labels;
    m.confusion.assign(k, std::vector<int64_t>(k + 1, 0));
    m.n = int64_t(expected.size());
    int64_t right = 0;
    for (size_t i = 0; i < expected.size(); ++i) {
        const int e = expected[i], p = predicted[i];
        if (e < 0 || size_t(e) >= k) fail(Errc::internal, "classification_metrics: expected index {}", e);
        const size_t col = (p < 0 || size_t(p) >= k) ? k : size_t(p);
        ++m.confusion[size_t(e)][col];
        right += (col == size_t(e));
    }
    m.accuracy = m.n ? double(right) / double(m.n) : std::nan("");
    m.precision.assign(k, 0);
    m.recall.assign(k, 0);
    m.f1.assign(k, 0);
    m.support.assign(k, 0);
    double f1_sum = 0;
    for (size_t c = 0; c < k; ++c) {
        int64_t tp = m.confusion[c][c], predicted_c = 0, actual_c = 0;
        for (size_t r = 0; r < k; ++r) predicted_c += m.confusion[r][c];
        for (size_t p = 0; p <= k; ++p) actual_c += m.confusion[c][p];
        m.support[c] = actual_c;
        m.precision[c] = predicted_c ? double(tp) / double(predicted_c) : 0;
        m.recall[c] = actual_c ? double(tp) / double(actual_c) : 0;
        const double s = m.precision[c] + m.recall[c];
        m.f1[c] = s > 0 ? 2 * m.precision[c] * m.recall[c] / s : 0;
        f1_sum += m.f1[c];
    }
    m.macro_f1 = k ? f1_sum / double(k) : std::nan("");
    return m;
}

double auroc(std::span<const double> scores, std::span<const bool> positive) {
    if (scores.size() != positive.size())
        fail(Errc::internal, "auroc: {} scores vs {} labels", scores.size(), positive.size());
    // Rank-sum form: sort by score, give tied groups their average rank.
    std::vector<size_t> order(scores.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
    double rank_sum_pos = 0;
    int64_t n_pos = 0, n_neg = 0;
    for (size_t i = 0; i < order.size();) {
        size_t j = i;
        while (j < order.size() && scores[order[j]] == scores[order[i]]) ++j;
        const double avg_rank = (double(i + 1) + double(j)) / 2;  // ranks are 1-based
        for (size_t t = i; t < j; ++t) {
            if (positive[order[t]]) {
                rank_sum_pos += avg_rank;
                ++n_pos;
            } else {
                ++n_neg;
            }
        }
        i = j;
    }
    if (n_pos == 0 || n_neg == 0) return std::nan("");
    const double u = rank_sum_pos - double(n_pos) * double(n_pos + 1) / 2;
    return u / (double(n_pos) * double(n_neg));
}

Reliability reliability(std::span<const double> prob, std::span<const bool> correct, int bins) {
    if (prob.size() != correct.size()) fail(Errc::internal, "reliability: {} vs {}", prob.size(), correct.size());
    if (bins < 1) fail(Errc::invalid_argument, "reliability: need at least one bin");
    Reliability r;
    r.count.assign(size_t(bins), 0);
    std::vector<double> conf(size_t(bins), 0), acc(size_t(bins), 0);
    for (size_t i = 0; i < prob.size(); ++i) {
        const double p = std::clamp(prob[i], 0.0, 1.0);
        const size_t b = std::min(size_t(bins) - 1, size_t(p * bins));
        ++r.count[b];
        conf[b] += p;
        acc[b] += correct[i];
    }
    r.confidence.resize(size_t(bins));
    r.accuracy.resize(size_t(bins));
    for (size_t b = 0; b < size_t(bins); ++b) {
        const double n = double(r.count[b]);
        r.confidence[b] = n ? conf[b] / n : std::nan("");
        r.accuracy[b] = n ? acc[b] / n : std::nan("");
        if (n) r.ece += n / double(prob.size()) * std::fabs(r.accuracy[b] - r.confidence[b]);
    }
    return r;
}

namespace {
std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}
std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
    return out;
}
}  // namespace

bool grade_exact(std::string_view prediction, std::string_view reference, bool ignore_case) {
    auto p = trim(prediction), r = trim(reference);
    return ignore_case ? lower(p) == lower(r) : p == r;
}

bool grade_contains(std::string_view prediction, std::string_view reference, bool ignore_case) {
    if (ignore_case) return lower(prediction).find(lower(reference)) != std::string::npos;
    return prediction.find(reference) != std::string_view::npos;
}

struct RegexGrader::Impl {
    pcre2_code* code = nullptr;
    pcre2_match_data* md = nullptr;
    ~Impl() {
        if (md) pcre2_match_data_free(md);
        if (code) pcre2_code_free(code);
    }
};

RegexGrader::RegexGrader(const std::string& pattern) : impl_(std::make_unique<Impl>()) {
    int err = 0;
    PCRE2_SIZE off = 0;
    impl_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &err, &off, nullptr);
    if (!impl_->code) {
        PCRE2_UCHAR buf[256];
        pcre2_get_error_message(err, buf, sizeof buf);
        fail(Errc::invalid_argument, "regex grader '{}': {} at offset {}", pattern,
             reinterpret_cast<const char*>(buf), off);
    }
    impl_->md = pcre2_match_data_create_from_pattern(impl_->code, nullptr);
}
RegexGrader::~RegexGrader() = default;
RegexGrader::RegexGrader(RegexGrader&&) noexcept = default;
RegexGrader& RegexGrader::operator=(RegexGrader&&) noexcept = default;

bool RegexGrader::operator()(std::string_view prediction) const {
    int rc = pcre2_match(impl_->code, reinterpret_cast<PCRE2_SPTR>(prediction.data()), prediction.size(), 0, 0,
                         impl_->md, nullptr);
    if (rc >= 0) return true;
    if (rc == PCRE2_ERROR_NOMATCH) return false;
    fail(Errc::invalid_argument, "regex grader: match failed (PCRE2 error {})", rc);
}

namespace {
// Quantile with linear interpolation between order statistics (R type 7) of sorted values.
double quantile(const std::vector<double>& sorted, double q) {
    if (sorted.empty()) return std::nan("");
    const double h = (double(sorted.size()) - 1) * q;
    const size_t lo = size_t(std::floor(h));
    const size_t hi = std::min(lo + 1, sorted.size() - 1);
    return sorted[lo] + (h - double(lo)) * (sorted[hi] - sorted[lo]);
}
}  // namespace

Interval bootstrap(size_t n, const Statistic& statistic, const BootstrapOptions& opt) {
    Interval out;
    out.level = opt.level;
    if (n == 0) {
        out.estimate = out.lo = out.hi = std::nan("");
        return out;
    }
    if (opt.resamples < 1 || !(opt.level > 0 && opt.level < 1))
        fail(Errc::invalid_argument, "bootstrap: need resamples >= 1 and 0 < level < 1");
    std::vector<size_t> idx(n);
    std::iota(idx.begin(), idx.end(), size_t{0});
    out.estimate = statistic(idx);
    SplitMix64 rng(opt.seed);
    std::vector<double> stats;
    stats.reserve(size_t(opt.resamples));
    for (int b = 0; b < opt.resamples; ++b) {
        for (size_t i = 0; i < n; ++i) idx[i] = size_t(rng.below(n));
        const double s = statistic(idx);
        if (!std::isnan(s)) stats.push_back(s);
    }
    std::sort(stats.begin(), stats.end());
    out.lo = quantile(stats, (1 - opt.level) / 2);
    out.hi = quantile(stats, (1 + opt.level) / 2);
    return out;
}

Interval bootstrap_mean(std::span<const double> values, const BootstrapOptions& opt) {
    return bootstrap(
        values.size(),
        [&](std::span<const size_t> idx) {
            double s = 0;
            for (size_t i : idx) s += values[i];
            return s / double(idx.size());
        },
        opt);
}

namespace {
// log of the binomial(n, 1/2) probability of k.
double log_binom_half(int64_t n, int64_t k) {
    return std::lgamma(double(n) + 1) - std::lgamma(double(k) + 1) - std::lgamma(double(n - k) + 1) -
           double(n) * std::log(2.0);
}
}  // namespace

PairedComparison compare_paired(std::span<const bool> a, std::span<const bool> b, const BootstrapOptions& opt) {
    if (a.size() != b.size()) fail(Errc::internal, "compare_paired: {} vs {} cases", a.size(), b.size());
    PairedComparison r;
    for (size_t i = 0; i < a.size(); ++i) {
        if (a[i] && b[i]) ++r.both;
        else if (a[i]) ++r.a_only;
        else if (b[i]) ++r.b_only;
        else ++r.neither;
    }
    const int64_t m = r.a_only + r.b_only;
    if (m > 0) {
        const int64_t k = std::min(r.a_only, r.b_only);
        double tail = 0;
        for (int64_t i = 0; i <= k; ++i) tail += std::exp(log_binom_half(m, i));
        r.mcnemar_p = std::min(1.0, 2 * tail);
    }
    r.difference = bootstrap(
        a.size(),
        [&](std::span<const size_t> idx) {
            double d = 0;
            for (size_t i : idx) d += double(a[i]) - double(b[i]);
            return d / double(idx.size());
        },
        opt);
    return r;
}

}  // namespace kinglet::eval
