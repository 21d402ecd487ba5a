#include "eval/summary.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <memory>

namespace kinglet::eval {

namespace {
nlohmann::ordered_json num(double v) { return std::isnan(v) ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(v); }

nlohmann::ordered_json interval_json(const Interval& i) {
    return {{"estimate", num(i.estimate)}, {"lo", num(i.lo)}, {"hi", num(i.hi)}, {"level", i.level}};
}

// How well each named confidence signal separates correct from incorrect answers (AUROC). A target
// that cannot give a signal (a remote API without log-probabilities) has none: null.
nlohmann::ordered_json signals_json(std::span<const CaseResult> recs, std::span<const bool> ok,
                                    std::initializer_list<std::pair<const char*, double CaseResult::*>> signals) {
    nlohmann::ordered_json sig;
    for (const auto& [name, f] : signals) {
        std::vector<double> v;
        v.reserve(recs.size());
        bool finite = true;
        for (const auto& r : recs) {
            v.push_back(r.*f);
            finite = finite && std::isfinite(r.*f);
        }
        sig[name] = {{"auroc", num(finite ? auroc(v, ok) : std::nan(""))}};
    }
    return sig;
}

// Token totals and the mean latency.
void add_usage(nlohmann::ordered_json& s, std::span<const CaseResult> recs) {
    double pt = 0, ct = 0, lat = 0;
    for (const auto& r : recs) {
        pt += r.prompt_tokens;
        ct += r.completion_tokens;
        lat += r.latency_ms;
    }
    s["tokens"] = {{"prompt", pt}, {"completion", ct}};
    s["mean_latency_ms"] = recs.empty() ? 0.0 : lat / double(recs.size());
}
}  // namespace

nlohmann::ordered_json classification_summary(const std::vector<std::string>& labels,
                                              std::span<const CaseResult> recs, const BootstrapOptions& opt) {
    std::vector<int> e, p;
    for (const auto& r : recs) {
        e.push_back(r.expected);
        p.push_back(r.predicted);
    }
    const ClassMetrics m = classification_metrics(labels, e, p);
    auto metric_on = [&](bool macro) {
        return [&, macro](std::span<const size_t> idx) {
            std::vector<int> ee, pp;
            ee.reserve(idx.size());
            pp.reserve(idx.size());
            for (size_t i : idx) {
                ee.push_back(e[i]);
                pp.push_back(p[i]);
            }
            auto mm = classification_metrics(labels, ee, pp);
            return macro ? mm.macro_f1 : mm.accuracy;
        };
    };
    nlohmann::ordered_json s;
    s["n"] = m.n;
    s["accuracy"] = interval_json(bootstrap(recs.size(), metric_on(false), opt));
    s["macro_f1"] = interval_json(bootstrap(recs.size(), metric_on(true), opt));
    nlohmann::ordered_json per = nlohmann::ordered_json::array();
    for (size_t c = 0; c < labels.size(); ++c)
        per.push_back({{"label", labels[c]},
                       {"precision", m.precision[c]},
                       {"recall", m.recall[c]},
                       {"f1", m.f1[c]},
                       {"support", m.support[c]}});
    s["per_class"] = per;
    s["confusion"] = {{"rows", "expected"}, {"columns", "predicted, then (none)"}, {"matrix", m.confusion}};
    std::unique_ptr<bool[]> ok(new bool[recs.size()]);
    for (size_t i = 0; i < recs.size(); ++i) ok[i] = recs[i].predicted == recs[i].expected;
    s["signals"] = signals_json(recs, std::span<const bool>(ok.get(), recs.size()),
                                {{"label_prob", &CaseResult::label_prob},
                                 {"margin", &CaseResult::margin},
                                 {"mean_logprob", &CaseResult::mean_logprob},
                                 {"min_logprob", &CaseResult::min_logprob}});
    {
        // Cases without a label probability (targets that give none) are left out of the diagram.
        std::vector<double> lp;
        std::unique_ptr<bool[]> okf(new bool[recs.size()]);
        for (const auto& r : recs)
            if (std::isfinite(r.label_prob)) {
                okf[lp.size()] = r.predicted == r.expected;
                lp.push_back(std::clamp(r.label_prob, 0.0, 1.0));
            }
        const auto rel = reliability(lp, std::span<const bool>(okf.get(), lp.size()), 10);
        auto nums = [](const std::vector<double>& v) {
            nlohmann::ordered_json a = nlohmann::ordered_json::array();
            for (double x : v) a.push_back(num(x));
            return a;
        };
        s["reliability"] = {{"signal", "label_prob"}, {"bins", 10}, {"count", rel.count},
                            {"confidence", nums(rel.confidence)}, {"accuracy", nums(rel.accuracy)}, {"ece", rel.ece}};
    }
    add_usage(s, recs);
    return s;
}

nlohmann::ordered_json text_summary(std::span<const CaseResult> recs, bool json_task, const BootstrapOptions& opt) {
    nlohmann::ordered_json s;
    s["n"] = recs.size();
    std::vector<double> ok, valid;
    std::unique_ptr<bool[]> okb(new bool[recs.size()]);
    double fields = 0, fields_ok = 0;
    for (size_t i = 0; i < recs.size(); ++i) {
        ok.push_back(recs[i].correct);
        okb[i] = recs[i].correct;
        valid.push_back(recs[i].json_valid);
        fields += recs[i].fields;
        fields_ok += recs[i].fields_correct;
    }
    s["accuracy"] = interval_json(bootstrap_mean(ok, opt));
    if (json_task) {
        s["json_valid"] = interval_json(bootstrap_mean(valid, opt));
        s["field_accuracy"] = fields > 0 ? nlohmann::ordered_json(fields_ok / fields) : nlohmann::ordered_json(nullptr);
        std::vector<double> schema;
        for (const auto& r : recs)
            if (r.schema_valid >= 0) schema.push_back(r.schema_valid);
        if (!schema.empty()) s["schema_valid"] = interval_json(bootstrap_mean(schema, opt));
    }
    s["signals"] = signals_json(recs, std::span<const bool>(okb.get(), recs.size()),
                                {{"mean_logprob", &CaseResult::mean_logprob}, {"min_logprob", &CaseResult::min_logprob}});
    add_usage(s, recs);
    return s;
}

std::string format_summary(const nlohmann::ordered_json& s) {
    auto ci = [](const nlohmann::ordered_json& i) {
        if (i["estimate"].is_null()) return std::string("n/a");
        return fmt::format("{:.3f}  [{:.3f}, {:.3f}]", i["estimate"].get<double>(), i["lo"].get<double>(),
                           i["hi"].get<double>());
    };
    std::string out = fmt::format("cases     {}\naccuracy  {}   (95% bootstrap interval)\n", s["n"].get<int64_t>(),
                                  ci(s["accuracy"]));
    if (s.contains("json_valid"))
        out += fmt::format("valid JSON {}\nfield accuracy {}\n", ci(s["json_valid"]),
                           s["field_accuracy"].is_null() ? std::string("n/a")
                                                         : fmt::format("{:.3f}", s["field_accuracy"].get<double>()));
    if (s.contains("schema_valid")) out += fmt::format("schema valid {}\n", ci(s["schema_valid"]));
    auto signals = [&] {
        std::string o = "\nsignal AUROC (separating correct from incorrect)\n";
        for (const auto& [name, v] : s["signals"].items())
            o += fmt::format("  {:<14} {}\n", name,
                             v["auroc"].is_null() ? std::string("n/a") : fmt::format("{:.3f}", v["auroc"].get<double>()));
        return o;
    };
    if (!s.contains("macro_f1")) return out + signals();
    out += fmt::format("macro-F1  {}\n\n", ci(s["macro_f1"]));
    size_t w = 8;
    for (const auto& c : s["per_class"]) w = std::max(w, c["label"].get<std::string>().size());
    out += fmt::format("{:<{}}  precision  recall     f1  support\n", "label", w);
    for (const auto& c : s["per_class"])
        out += fmt::format("{:<{}}  {:9.3f}  {:6.3f}  {:5.3f}  {:7}\n", c["label"].get<std::string>(), w,
                           c["precision"].get<double>(), c["recall"].get<double>(), c["f1"].get<double>(),
                           c["support"].get<int64_t>());
    out += fmt::format("\nconfusion (rows expected, columns predicted)\n{:<{}}", "", w);
    for (const auto& c : s["per_class"]) out += fmt::format(" {:>{}}", c["label"].get<std::string>(), w);
    out += fmt::format(" {:>{}}\n", "(none)", w);
    const auto& mat = s["confusion"]["matrix"];
    for (size_t r = 0; r < mat.size(); ++r) {
        out += fmt::format("{:<{}}", s["per_class"][r]["label"].get<std::string>(), w);
        for (const auto& v : mat[r]) out += fmt::format(" {:>{}}", v.get<int64_t>(), w);
        out += '\n';
    }
    return out + signals();
}

}  // namespace kinglet::eval
