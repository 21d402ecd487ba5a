#include "eval/cascade_report.h"

#include <fmt/format.h>

#include <cmath>
#include <fstream>
#include <memory>
#include <span>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "core/error.h"

namespace kinglet::eval {

using nlohmann::ordered_json;

ResultRow result_row(const ordered_json& j) {
    auto sig = [&](const char* k) { return j.contains(k) && j[k].is_number() ? j[k].get<double>() : std::nan(""); };
    ResultRow r;
    r.id = j.at("id").get<std::string>();
    r.split = j.at("split").get<std::string>();
    r.correct = j.at("correct").get<bool>();
    // Text tasks have no label signals; targets without log-probabilities have none at all.
    r.label_prob = sig("label_prob");
    r.margin = sig("margin");
    r.mean_logprob = sig("mean_logprob");
    r.min_logprob = sig("min_logprob");
    r.prompt_tokens = j.value("prompt_tokens", 0);
    r.completion_tokens = j.value("completion_tokens", 0);
    return r;
}

std::vector<ResultRow> read_results(const std::string& path, const std::string& target) {
    std::ifstream in(path);
    if (!in) fail(Errc::not_found, "{}: cannot open results file", path);
    std::vector<ResultRow> rows;
    std::set<std::string> targets;
    std::unordered_set<std::string> seen;
    std::string line;
    size_t n = 0;
    while (std::getline(in, line)) {
        ++n;
        if (line.empty()) continue;
        ordered_json j = ordered_json::parse(line, nullptr, false);
        if (j.is_discarded()) {
            if (in.peek() == EOF) break;  // torn last line of an interrupted run
            fail(Errc::invalid_file, "{}:{}: not valid JSON", path, n);
        }
        if (j.contains("kinglet_eval")) continue;
        const std::string t = j.value("target", "");
        targets.insert(t);
        if (!target.empty() && t != target) continue;
        try {
            ResultRow r = result_row(j);
            if (!seen.insert(t + '\x1f' + r.id).second) continue;
            rows.push_back(std::move(r));
        } catch (const nlohmann::json::exception& e) {
            fail(Errc::invalid_file, "{}:{}: not a results row: {}", path, n, e.what());
        }
    }
    if (target.empty() && targets.size() > 1) {
        std::string names;
        for (const auto& t : targets) names += (names.empty() ? "" : ", ") + t;
        fail(Errc::invalid_argument, "{}: holds the results of several targets ({}); say which one", path, names);
    }
    if (!target.empty() && !targets.count(target))
        fail(Errc::invalid_argument, "{}: no results of target '{}'", path, target);
    return rows;
}

const std::vector<std::string>& signal_names() {
    static const std::vector<std::string> names = {"label_prob", "margin", "mean_logprob", "min_logprob"};
    return names;
}

double signal_value(const ResultRow& r, const std::string& s) {
    if (s == "label_prob") return r.label_prob;
    if (s == "margin") return r.margin;
    if (s == "mean_logprob") return r.mean_logprob;
    if (s == "min_logprob") return r.min_logprob;
    fail(Errc::invalid_argument, "unknown signal '{}' (label_prob, margin, mean_logprob, min_logprob)", s);
}

Price parse_price(const std::string& flag, const std::string& s) {
    const auto comma = s.find(',');
    try {
        if (comma == std::string::npos) throw std::invalid_argument(s);
        size_t a = 0, b = 0;
        Price p{std::stod(s.substr(0, comma), &a), std::stod(s.substr(comma + 1), &b)};
        if (a != comma || b != s.size() - comma - 1 || !(p.input_per_mtok >= 0) || !(p.output_per_mtok >= 0))
            throw std::invalid_argument(s);
        return p;
    } catch (const std::exception&) {
        fail(Errc::invalid_argument, "{} wants INPUT,OUTPUT USD per million tokens (got '{}')", flag, s);
    }
}

namespace {
ordered_json num(double v) { return std::isnan(v) || std::isinf(v) ? ordered_json(nullptr) : ordered_json(v); }
ordered_json iv(const Interval& i) { return {{"estimate", num(i.estimate)}, {"lo", num(i.lo)}, {"hi", num(i.hi)}}; }
}  // namespace

ordered_json calibrate_cascade(const std::vector<ResultRow>& small, const std::vector<ResultRow>& large,
                               const CascadeOptions& opt) {
    (void)signal_value(ResultRow{}, opt.signal);  // validates the name
    std::unordered_map<std::string, const ResultRow*> by_id;
    for (const auto& r : large) by_id[r.id] = &r;
    auto cases_of = [&](const std::string& split, const std::string& signal) {
        std::vector<CascadeCase> out;
        for (const auto& s : small) {
            if (s.split != split) continue;
            auto it = by_id.find(s.id);
            if (it == by_id.end())
                fail(Errc::invalid_argument, "case '{}' is in the small target's results but not the large one's", s.id);
            const double v = signal_value(s, signal);
            if (std::isnan(v)) return std::vector<CascadeCase>{};
            out.push_back({v, s.correct, it->second->correct, opt.small_price.cost(s),
                           opt.large_price.cost(*it->second)});
        }
        return out;
    };
    bool has_signal = true;
    for (const auto& s : small) has_signal = has_signal && !std::isnan(signal_value(s, opt.signal));
    if (!has_signal)
        fail(Errc::invalid_argument, "the small target's results have no '{}' signal (text tasks have mean_logprob "
             "and min_logprob only)", opt.signal);
    const auto cal = cases_of(opt.calibration_split, opt.signal);
    const auto test = cases_of(opt.test_split, opt.signal);
    if (cal.empty()) fail(Errc::invalid_argument, "no cases in the '{}' split to calibrate on", opt.calibration_split);
    if (test.empty()) fail(Errc::invalid_argument, "no cases in the '{}' split to test on", opt.test_split);

    ordered_json rep;
    rep["signal"] = opt.signal;
    rep["n_calibration"] = cal.size();
    rep["n_test"] = test.size();
    double large_cal = 0;
    for (const auto& c : cal) large_cal += c.large_correct;
    large_cal /= double(cal.size());
    const auto curve = sweep(cal);
    ordered_json cj = ordered_json::array();
    for (const auto& p : curve)
        cj.push_back({{"threshold", num(p.threshold)}, {"escalation_rate", p.escalation_rate},
                      {"accuracy", p.accuracy}, {"mean_cost", p.mean_cost}});
    rep["curve"] = cj;
    ordered_json aucs;
    for (const auto& s : signal_names()) {
        const auto cs = cases_of(opt.calibration_split, s);
        aucs[s] = cs.empty() ? ordered_json(nullptr) : num(signal_auroc(cs));
    }
    rep["signal_auroc"] = aucs;
    const auto chosen = choose(curve, opt.objective, large_cal);
    // Alone: small = never escalate, large = always (small's cost not paid).
    std::vector<double> sa, la, sc, lc;
    for (const auto& c : test) {
        sa.push_back(c.small_correct);
        la.push_back(c.large_correct);
        sc.push_back(c.small_cost);
        lc.push_back(c.large_cost);
    }
    rep["small_alone"] = {{"accuracy", iv(bootstrap_mean(sa, opt.bootstrap))}, {"mean_cost", iv(bootstrap_mean(sc, opt.bootstrap))}};
    rep["large_alone"] = {{"accuracy", iv(bootstrap_mean(la, opt.bootstrap))}, {"mean_cost", iv(bootstrap_mean(lc, opt.bootstrap))}};
    {
        // Small vs large on the same test cases: McNemar's exact test and a paired-bootstrap interval.
        std::unique_ptr<bool[]> a(new bool[test.size()]), b(new bool[test.size()]);
        for (size_t i = 0; i < test.size(); ++i) a[i] = test[i].small_correct, b[i] = test[i].large_correct;
        const auto pc = compare_paired(std::span<const bool>(a.get(), test.size()),
                                       std::span<const bool>(b.get(), test.size()), opt.bootstrap);
        rep["small_vs_large"] = {{"small_only_correct", pc.a_only}, {"large_only_correct", pc.b_only},
                                 {"mcnemar_exact_p", pc.mcnemar_p}, {"accuracy_difference", iv(pc.difference)}};
    }
    if (!chosen) {
        rep["chosen"] = nullptr;
        return rep;
    }
    rep["chosen"] = {{"threshold", num(chosen->threshold)}, {"calibration_escalation_rate", chosen->escalation_rate},
                     {"calibration_accuracy", chosen->accuracy}, {"calibration_mean_cost", chosen->mean_cost}};
    const auto ev = evaluate_threshold(test, chosen->threshold, opt.bootstrap);
    rep["test"] = {{"accuracy", iv(ev.accuracy)}, {"escalation_rate", iv(ev.escalation_rate)}, {"mean_cost", iv(ev.mean_cost)}};
    rep["config"] = fmt::format("steps:\n  - {{ target: small, signal: {}, min_confidence: {} }}\n  - {{ target: large }}\n",
                                opt.signal, std::isinf(chosen->threshold) ? std::string("1e308") : fmt::format("{:.6g}", chosen->threshold));
    return rep;
}

std::string format_cascade(const ordered_json& r) {
    auto ci = [](const ordered_json& i) {
        if (i["estimate"].is_null()) return std::string("n/a");
        return fmt::format("{:.4g} [{:.4g}, {:.4g}]", i["estimate"].get<double>(), i["lo"].get<double>(), i["hi"].get<double>());
    };
    std::string out = fmt::format("signal {} — {} calibration cases, {} test cases\n\nsignal AUROC (calibration split)\n",
                                  r["signal"].get<std::string>(), r["n_calibration"].get<size_t>(), r["n_test"].get<size_t>());
    for (const auto& [k, v] : r["signal_auroc"].items())
        out += fmt::format("  {:<14} {}\n", k, v.is_null() ? std::string("n/a") : fmt::format("{:.3f}", v.get<double>()));
    out += "\ncurve (calibration split)\n  threshold   escalation  accuracy  mean cost\n";
    const auto& c = r["curve"];
    const size_t step = std::max<size_t>(1, (c.size() + 19) / 20);  // at most ~21 rows in the terminal
    std::vector<size_t> rows;
    for (size_t i = 0; i < c.size(); i += step) rows.push_back(i);
    if (!c.empty() && rows.back() != c.size() - 1) rows.push_back(c.size() - 1);
    for (size_t i : rows) {
        const auto& p = c[i];
        out += fmt::format("  {:>9}   {:10.3f}  {:8.3f}  {:9.3g}\n",
                           p["threshold"].is_null() ? std::string("inf") : fmt::format("{:.4g}", p["threshold"].get<double>()),
                           p["escalation_rate"].get<double>(), p["accuracy"].get<double>(), p["mean_cost"].get<double>());
    }
    out += fmt::format("\nsmall alone (test)  accuracy {}  cost/case {}\nlarge alone (test)  accuracy {}  cost/case {}\n",
                       ci(r["small_alone"]["accuracy"]), ci(r["small_alone"]["mean_cost"]), ci(r["large_alone"]["accuracy"]),
                       ci(r["large_alone"]["mean_cost"]));
    out += fmt::format("small vs large (test): accuracy difference {}, McNemar exact p = {:.3g}\n",
                       ci(r["small_vs_large"]["accuracy_difference"]), r["small_vs_large"]["mcnemar_exact_p"].get<double>());
    if (r["chosen"].is_null()) return out + "\nno threshold meets the objective on the calibration split\n";
    out += fmt::format("\nchosen threshold {} (escalate when {} < threshold)\n  test: accuracy {}  escalation {}  cost/case {}\n\n{}",
                       r["chosen"]["threshold"].is_null() ? std::string("inf") : fmt::format("{:.6g}", r["chosen"]["threshold"].get<double>()),
                       r["signal"].get<std::string>(), ci(r["test"]["accuracy"]), ci(r["test"]["escalation_rate"]),
                       ci(r["test"]["mean_cost"]), r["config"].get<std::string>());
    return out;
}

}  // namespace kinglet::eval
