#include "eval/run_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <span>
#include <string_view>
#include <unordered_map>

namespace kinglet::eval {

using nlohmann::ordered_json;

namespace {
ordered_json num(double v) { return std::isfinite(v) ? ordered_json(v) : ordered_json(nullptr); }
ordered_json iv(const Interval& i) {
    return {{"estimate", num(i.estimate)}, {"lo", num(i.lo)}, {"hi", num(i.hi)}, {"level", i.level}};
}
}  // namespace

ordered_json run_report(const std::vector<Target*>& targets, const RunOutcome& run, const ReportOptions& opt) {
    const bool classify = !opt.labels.empty();
    ordered_json rep;
    rep["data"] = opt.data;
    rep["split"] = opt.split;
    if (classify) rep["labels"] = opt.labels;
    else rep["grader"] = opt.grader;
    ordered_json ts = ordered_json::array();
    for (size_t t = 0; t < targets.size(); ++t) {
        const auto& tr = run.targets[t];
        ordered_json sm = classify ? classification_summary(opt.labels, tr.rows, opt.bootstrap)
                                   : text_summary(tr.rows, opt.grader == "json", opt.bootstrap);
        sm["bad_rows"] = run.bad_rows;
        sm["unknown_label_rows"] = run.unknown_label_rows;
        if (!classify) sm["skipped_rows"] = run.skipped_rows;
        int64_t nfail = 0;
        for (const auto& row : tr.rows) nfail += row.failed;
        sm["failed"] = nfail;
        ordered_json tj = {{"name", targets[t]->spec().name},
                           {"spec", targets[t]->spec().text},
                           {"kind", kind_name(targets[t]->spec().kind)},
                           {"summary", sm}};
        if (tr.judge_prompt_tokens || tr.judge_completion_tokens)
            tj["judge_tokens"] = {{"prompt", tr.judge_prompt_tokens}, {"completion", tr.judge_completion_tokens}};
        const auto& price = t < opt.prices.size() ? opt.prices[t] : std::nullopt;
        bool row_costs = !tr.rows.empty();
        for (const auto& row : tr.rows) row_costs = row_costs && !std::isnan(row.cost_usd);
        if (!price && row_costs) {
            // What the router priced each request at (a config's provider or route), plus the judge's.
            std::vector<double> cost;
            bool judge = false;
            for (const auto& row : tr.rows) {
                double c = row.cost_usd;
                if (row.judged && !std::isnan(row.judge_cost_usd)) {
                    c += row.judge_cost_usd;
                    judge = true;
                }
                cost.push_back(c);
            }
            double total = 0;
            for (double c : cost) total += c;
            tj["cost"] = {{"source", "router"},
                          {"mean", total / double(cost.size())},
                          {"mean_interval", iv(bootstrap_mean(cost, opt.bootstrap))},
                          {"total", total},
                          {"judge_included", judge}};
        }
        bool routed = !tr.rows.empty();
        for (const auto& row : tr.rows) routed = routed && row.escalated >= 0;
        if (routed) {
            // A route: how often it escalated, and who answered.
            std::vector<char> esc;
            ordered_json by = ordered_json::object();
            for (const auto& row : tr.rows) {
                esc.push_back(row.escalated > 0);
                const std::string& p = tr.provider(row);
                by[p.empty() ? "(none)" : p] = by.value(p.empty() ? "(none)" : p, int64_t(0)) + 1;
            }
            std::vector<double> v(esc.begin(), esc.end());
            int64_t n = 0;
            for (char e : esc) n += e;
            tj["routing"] = {{"escalated", n}, {"escalation_rate", iv(bootstrap_mean(v, opt.bootstrap))}, {"answered_by", by}};
        }
        if (price) {
            // Per case: its own tokens at the target's price, plus the judge's at the judge's price.
            std::vector<double> cost;
            for (const auto& row : tr.rows) {
                ResultRow r;
                r.prompt_tokens = row.prompt_tokens;
                r.completion_tokens = row.completion_tokens;
                double c = price->cost(r);
                if (opt.judge_price && row.judged) {
                    ResultRow jr;
                    jr.prompt_tokens = row.judge_prompt_tokens;
                    jr.completion_tokens = row.judge_completion_tokens;
                    c += opt.judge_price->cost(jr);
                }
                cost.push_back(c);
            }
            double total = 0;
            for (double c : cost) total += c;
            tj["cost"] = {{"price", {{"input_per_mtok", price->input_per_mtok}, {"output_per_mtok", price->output_per_mtok}}},
                          {"mean", cost.empty() ? 0.0 : total / double(cost.size())},
                          {"mean_interval", iv(bootstrap_mean(cost, opt.bootstrap))},
                          {"total", total},
                          {"judge_included", bool(opt.judge_price)}};
        }
        ts.push_back(tj);
    }
    rep["targets"] = ts;
    // Every pair on the cases both answered, in the first target's order.
    ordered_json comps = ordered_json::array();
    for (size_t a = 0; a < targets.size(); ++a)
        for (size_t b = a + 1; b < targets.size(); ++b) {
            // b's answers by case id (the last one when ids repeat).
            const auto& ta = run.targets[a];
            const auto& tb = run.targets[b];
            std::unordered_map<std::string_view, bool> correct_b;
            correct_b.reserve(tb.rows.size());
            for (const auto& row : tb.rows) correct_b[tb.id(row)] = row.correct;
            std::vector<char> ca, cb;
            for (const auto& row : ta.rows) {
                const auto it = correct_b.find(ta.id(row));
                if (it == correct_b.end()) continue;
                ca.push_back(row.correct);
                cb.push_back(it->second);
            }
            std::unique_ptr<bool[]> xa(new bool[ca.size()]), xb(new bool[cb.size()]);
            for (size_t i = 0; i < ca.size(); ++i) xa[i] = ca[i], xb[i] = cb[i];
            const auto pc = compare_paired(std::span<const bool>(xa.get(), ca.size()),
                                           std::span<const bool>(xb.get(), cb.size()), opt.bootstrap);
            comps.push_back({{"a", targets[a]->spec().name},
                             {"b", targets[b]->spec().name},
                             {"n", ca.size()},
                             {"a_only_correct", pc.a_only},
                             {"b_only_correct", pc.b_only},
                             {"both_correct", pc.both},
                             {"neither_correct", pc.neither},
                             {"mcnemar_exact_p", pc.mcnemar_p},
                             {"accuracy_difference", iv(pc.difference)}});
        }
    rep["comparisons"] = comps;
    return rep;
}

ordered_json cascade_from_run(const RunOutcome& run, size_t small, size_t large, const CascadeOptions& opt) {
    auto rows_of = [&](size_t t) {
        const auto& tr = run.targets.at(t);
        std::vector<ResultRow> v;
        v.reserve(tr.rows.size());
        for (const auto& row : tr.rows) {
            ResultRow r;
            r.id = tr.id(row);
            r.split = tr.split(row);
            r.correct = row.correct;
            r.label_prob = row.label_prob;
            r.margin = row.margin;
            r.mean_logprob = row.mean_logprob;
            r.min_logprob = row.min_logprob;
            r.prompt_tokens = row.prompt_tokens;
            r.completion_tokens = row.completion_tokens;
            v.push_back(std::move(r));
        }
        return v;
    };
    return calibrate_cascade(rows_of(small), rows_of(large), opt);
}

std::string format_run_report(const ordered_json& rep) {
    const auto& ts = rep["targets"];
    auto ci = [](const ordered_json& i) {
        if (!i.is_object() || i["estimate"].is_null()) return std::string("n/a");
        return fmt::format("{:.3f} [{:.3f}, {:.3f}]", i["estimate"].get<double>(), i["lo"].get<double>(),
                           i["hi"].get<double>());
    };
    std::string out;
    if (ts.size() == 1) {
        out = format_summary(ts[0]["summary"]);
    } else {
        size_t w = 6;
        for (const auto& t : ts) w = std::max(w, t["name"].get<std::string>().size());
        const bool f1 = rep.contains("labels");
        out += fmt::format("{:<{}}  {:>6}  {:<24}{}  {:>10}  {:>11}\n", "target", w, "cases", "accuracy [95% CI]",
                           f1 ? "  macro-F1 [95% CI]       " : "", "latency ms", "cost/case");
        for (const auto& t : ts) {
            const auto& s = t["summary"];
            out += fmt::format("{:<{}}  {:>6}  {:<24}{}  {:>10.1f}  {:>11}\n", t["name"].get<std::string>(), w,
                               s["n"].get<int64_t>(), ci(s["accuracy"]),
                               f1 ? "  " + fmt::format("{:<24}", ci(s["macro_f1"])) : "",
                               s["mean_latency_ms"].get<double>(),
                               t.contains("cost") ? fmt::format("{:.3g}", t["cost"]["mean"].get<double>()) : "n/a");
        }
        if (!rep["comparisons"].empty()) {
            out += "\npaired comparisons on the same cases\n";
            for (const auto& c : rep["comparisons"])
                out += fmt::format("  {} vs {} ({} cases): accuracy difference {}, only {} right {}, only {} right {}, "
                                   "McNemar exact p = {:.3g}\n",
                                   c["a"].get<std::string>(), c["b"].get<std::string>(), c["n"].get<size_t>(),
                                   ci(c["accuracy_difference"]), c["a"].get<std::string>(), c["a_only_correct"].get<int64_t>(),
                                   c["b"].get<std::string>(), c["b_only_correct"].get<int64_t>(),
                                   c["mcnemar_exact_p"].get<double>());
        }
        for (const auto& t : ts) {
            out += fmt::format("\n== {} ({})\n", t["name"].get<std::string>(), t["spec"].get<std::string>());
            out += format_summary(t["summary"]);
        }
    }
    for (const auto& t : ts) {
        if (t.contains("routing")) {
            const auto& r = t["routing"];
            std::string by;
            for (const auto& [p, n] : r["answered_by"].items())
                by += fmt::format("{}{} {}", by.empty() ? "" : ", ", p, n.get<int64_t>());
            out += fmt::format("\n{}: escalated {} of {} cases, rate {}; answered by {}\n", t["name"].get<std::string>(),
                               r["escalated"].get<int64_t>(), t["summary"]["n"].get<int64_t>(), ci(r["escalation_rate"]), by);
        }
        if (ts.size() == 1 && t.contains("cost"))
            out += fmt::format("{}: cost {:.4g} USD in all, {} per case\n", t["name"].get<std::string>(),
                               t["cost"]["total"].get<double>(),
                               t["cost"].contains("mean_interval") && !t["cost"]["mean_interval"]["lo"].is_null()
                                   ? fmt::format("{:.3g} [{:.3g}, {:.3g}]", t["cost"]["mean"].get<double>(),
                                                 t["cost"]["mean_interval"]["lo"].get<double>(),
                                                 t["cost"]["mean_interval"]["hi"].get<double>())
                                   : fmt::format("{:.3g}", t["cost"]["mean"].get<double>()));
    }
    for (const auto& t : ts) {
        const auto& s = t["summary"];
        if (s.value("failed", int64_t(0)) > 0)
            out += fmt::format("\n{}: {} requests failed (counted wrong; rerun with the same --results to retry them)\n",
                               t["name"].get<std::string>(), s["failed"].get<int64_t>());
    }
    const auto& s0 = ts.empty() ? ordered_json() : ts[0]["summary"];
    if (!ts.empty() && s0.value("bad_rows", uint64_t(0)) > 0)
        out += fmt::format("\n{} bad rows (listed on stderr)\n", s0["bad_rows"].get<uint64_t>());
    return out;
}

}  // namespace kinglet::eval
