#include "eval/html_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <vector>

#include "core/error.h"

namespace kinglet::eval {

using nlohmann::ordered_json;

namespace {

std::string esc(const std::string& s) {
    std::string o;
    o.reserve(s.size());
    for (char c : s) {
        switch (c) {
            case '&': o += "&amp;"; break;
            case '<': o += "&lt;"; break;
            case '>': o += "&gt;"; break;
            case '"': o += "&quot;"; break;
            case '\'': o += "&#39;"; break;
            default: o += c;
        }
    }
    return o;
}

bool is_num(const ordered_json& j) { return j.is_number(); }
double num_or(const ordered_json& j, double dflt) { return j.is_number() ? j.get<double>() : dflt; }
const ordered_json& at_or_null(const ordered_json& j, const char* key) {
    static const ordered_json null_json;
    return j.is_object() && j.contains(key) ? j[key] : null_json;
}

std::string fmt_interval(const ordered_json& iv, int digits = 3) {
    if (!iv.is_object() || !is_num(at_or_null(iv, "estimate"))) return "n/a";
    std::string s = fmt::format("{:.{}f}", iv["estimate"].get<double>(), digits);
    if (is_num(at_or_null(iv, "lo")) && is_num(at_or_null(iv, "hi")))
        s += fmt::format(" <span class=ci>[{:.{}f}, {:.{}f}]</span>", iv["lo"].get<double>(), digits,
                         iv["hi"].get<double>(), digits);
    return s;
}
std::string fmt_cost(double v) { return v == 0 ? "0" : fmt::format("{:.3g}", v); }

// Round-number tick positions covering [lo, hi].
std::vector<double> ticks(double lo, double hi, int want = 5) {
    if (!(hi > lo)) return {lo};
    const double raw = (hi - lo) / want;
    const double mag = std::pow(10.0, std::floor(std::log10(raw)));
    double step = mag;
    for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
        if (m * mag >= raw) {
            step = m * mag;
            break;
        }
    std::vector<double> t;
    for (double v = std::ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) t.push_back(v);
    return t;
}

// An x–y chart in SVG user units with axes, ticks and labels; the caller adds the marks.
struct Chart {
    double w = 560, h = 340, left = 64, right = 20, top = 16, bottom = 48;
    double x0 = 0, x1 = 1, y0 = 0, y1 = 1;
    double sx(double x) const { return left + (x - x0) / (x1 - x0) * (w - left - right); }
    double sy(double y) const { return h - bottom - (y - y0) / (y1 - y0) * (h - top - bottom); }

    std::string open(const std::string& id_or_class, const std::string& title, const std::string& xlabel,
                     const std::string& ylabel, bool cost_x = false) const {
        std::string s = fmt::format(
            "<svg {} viewBox=\"0 0 {} {}\" width=\"{}\" height=\"{}\" role=\"img\" aria-label=\"{}\">"
            "<title>{}</title>",
            id_or_class, w, h, w, h, esc(title), esc(title));
        s += fmt::format("<rect class=frame x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/>", left, top,
                         w - left - right, h - top - bottom);
        for (double t : ticks(x0, x1)) {
            s += fmt::format("<line class=grid x1=\"{0:.2f}\" x2=\"{0:.2f}\" y1=\"{1}\" y2=\"{2}\"/>", sx(t), top,
                             h - bottom);
            s += fmt::format("<text class=tick x=\"{:.2f}\" y=\"{}\" text-anchor=middle>{}</text>", sx(t),
                             h - bottom + 16, cost_x ? fmt_cost(t + 0.0) : fmt::format("{:g}", t + 0.0));
        }
        for (double t : ticks(y0, y1)) {
            s += fmt::format("<line class=grid x1=\"{0}\" x2=\"{1}\" y1=\"{2:.2f}\" y2=\"{2:.2f}\"/>", left, w - right,
                             sy(t));
            s += fmt::format("<text class=tick x=\"{}\" y=\"{:.2f}\" text-anchor=end>{:g}</text>", left - 6,
                             sy(t) + 4, t + 0.0);
        }
        s += fmt::format("<text class=axis x=\"{}\" y=\"{}\" text-anchor=middle>{}</text>", (left + w - right) / 2,
                         h - 10, esc(xlabel));
        s += fmt::format("<text class=axis transform=\"translate(14 {}) rotate(-90)\" text-anchor=middle>{}</text>",
                         (top + h - bottom) / 2, esc(ylabel));
        return s;
    }
};

// The y range of accuracy charts: [0, 1], or zoomed to the data when it all lies high up.
std::pair<double, double> accuracy_range(const std::vector<double>& ys) {
    double lo = 1;
    for (double y : ys) lo = std::min(lo, y);
    lo = std::max(0.0, std::floor((lo - 0.05) * 10) / 10);
    return {lo, 1.0};
}

const char* kPalette[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"};

std::string targets_table(const ordered_json& targets) {
    std::string s =
        "<h2>Targets side by side</h2><table id=targets class=sortable><thead><tr><th>target</th><th>cases</th>"
        "<th>accuracy [95% CI]</th><th>macro-F1 [95% CI]</th><th>ECE</th><th>best signal (AUROC)</th>"
        "<th>tokens in / out</th><th>mean latency ms</th><th>escalated [95% CI]</th><th>cost / case</th><th>total cost</th>"
        "</tr></thead><tbody>";
    for (size_t i = 0; i < targets.size(); ++i) {
        const auto& t = targets[i];
        const auto& sm = at_or_null(t, "summary");
        std::string best = "n/a";
        double best_auc = -1;
        if (sm.contains("signals"))
            for (const auto& [name, v] : sm["signals"].items())
                if (is_num(at_or_null(v, "auroc")) && v["auroc"].get<double>() > best_auc) {
                    best_auc = v["auroc"].get<double>();
                    best = fmt::format("{} ({:.3f})", name, best_auc);
                }
        const auto& cost = at_or_null(t, "cost");
        const auto& tok = at_or_null(sm, "tokens");
        const auto& rel = at_or_null(sm, "reliability");
        const auto& routing = at_or_null(t, "routing");  // route targets: how often they escalated
        s += fmt::format(
            "<tr><td><span class=swatch style=\"background:{}\"></span>{}<div class=spec>{}</div></td>"
            "<td data-v=\"{}\">{}</td><td data-v=\"{}\">{}</td><td data-v=\"{}\">{}</td><td>{}</td><td>{}</td>"
            "<td>{} / {}</td><td data-v=\"{}\">{:.1f}</td><td class=escalation data-v=\"{}\">{}</td>"
            "<td data-v=\"{}\">{}</td><td>{}</td></tr>",
            kPalette[i % std::size(kPalette)], esc(t.value("name", "")), esc(t.value("spec", "")),
            num_or(at_or_null(sm, "n"), 0), num_or(at_or_null(sm, "n"), 0),
            num_or(at_or_null(at_or_null(sm, "accuracy"), "estimate"), -1), fmt_interval(at_or_null(sm, "accuracy")),
            num_or(at_or_null(at_or_null(sm, "macro_f1"), "estimate"), -1), fmt_interval(at_or_null(sm, "macro_f1")),
            is_num(at_or_null(rel, "ece")) ? fmt::format("{:.3f}", rel["ece"].get<double>()) : "n/a", esc(best),
            fmt::format("{:g}", num_or(at_or_null(tok, "prompt"), 0)),
            fmt::format("{:g}", num_or(at_or_null(tok, "completion"), 0)), num_or(at_or_null(sm, "mean_latency_ms"), 0),
            num_or(at_or_null(sm, "mean_latency_ms"), 0),
            num_or(at_or_null(at_or_null(routing, "escalation_rate"), "estimate"), -1),
            routing.is_object() ? fmt_interval(routing["escalation_rate"]) : "n/a", num_or(at_or_null(cost, "mean"), 0),
            is_num(at_or_null(cost, "mean")) ? fmt_cost(cost["mean"].get<double>()) : "n/a",
            is_num(at_or_null(cost, "total")) ? fmt_cost(cost["total"].get<double>()) : "n/a");
    }
    return s + "</tbody></table>";
}

std::string comparisons_table(const ordered_json& comps) {
    if (!comps.is_array() || comps.empty()) return "";
    std::string s =
        "<h2>Paired comparisons (same cases)</h2><table id=comparisons><thead><tr><th>A</th><th>B</th>"
        "<th>only A right</th><th>only B right</th><th>accuracy A − B [95% CI]</th><th>McNemar exact p</th>"
        "</tr></thead><tbody>";
    for (const auto& c : comps)
        s += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                         esc(c.value("a", "")), esc(c.value("b", "")), num_or(at_or_null(c, "a_only_correct"), 0),
                         num_or(at_or_null(c, "b_only_correct"), 0), fmt_interval(at_or_null(c, "accuracy_difference")),
                         is_num(at_or_null(c, "mcnemar_exact_p"))
                             ? fmt::format("{:.3g}", c["mcnemar_exact_p"].get<double>())
                             : "n/a");
    return s + "</tbody></table>";
}

// Cost per case → accuracy: every target alone, and the cascade's curve (calibration split) when there is one.
std::string cost_accuracy_chart(const ordered_json& targets, const ordered_json& cascade) {
    struct P {
        double x, y;
    };
    std::vector<P> tp;
    for (const auto& t : targets)
        tp.push_back({num_or(at_or_null(at_or_null(t, "cost"), "mean"), 0),
                      num_or(at_or_null(at_or_null(at_or_null(t, "summary"), "accuracy"), "estimate"), 0)});
    std::vector<P> cp;
    const auto& curve = at_or_null(cascade, "curve");
    if (curve.is_array())
        for (const auto& p : curve) cp.push_back({num_or(p["mean_cost"], 0), num_or(p["accuracy"], 0)});
    std::vector<double> xs, ys;
    for (const auto& p : tp) xs.push_back(p.x), ys.push_back(p.y);
    for (const auto& p : cp) xs.push_back(p.x), ys.push_back(p.y);
    Chart ch;
    ch.x0 = 0;
    ch.x1 = xs.empty() ? 1 : *std::max_element(xs.begin(), xs.end()) * 1.08;
    if (!(ch.x1 > 0)) ch.x1 = 1;
    std::tie(ch.y0, ch.y1) = accuracy_range(ys);
    std::string s = "<h2>Cost and accuracy</h2><p class=note>Each target alone";
    if (!cp.empty()) s += ", and the cascade at every threshold on the calibration split (line)";
    s += ". Cost is per case, from the measured tokens at the given prices.</p>";
    s += ch.open(fmt::format("id=cost-accuracy data-points=\"{}\"", cp.size()), "Cost per case vs accuracy",
                 "mean cost per case (USD)", "accuracy", true);
    if (!cp.empty()) {
        std::string pts;
        for (const auto& p : cp) pts += fmt::format("{:.2f},{:.2f} ", ch.sx(p.x), ch.sy(p.y));
        s += fmt::format("<polyline class=curve points=\"{}\"/>", pts);
        for (size_t i = 0; i < cp.size(); ++i) {
            const auto& q = curve[i];
            s += fmt::format(
                "<circle class=curve-point cx=\"{:.2f}\" cy=\"{:.2f}\" r=\"3\"><title>threshold {} · escalation "
                "{:.3f} · accuracy {:.3f} · cost {}</title></circle>",
                ch.sx(cp[i].x), ch.sy(cp[i].y), is_num(q["threshold"]) ? fmt::format("{:.4g}", q["threshold"].get<double>()) : "∞",
                num_or(q["escalation_rate"], 0), cp[i].y, fmt_cost(cp[i].x));
        }
    }
    for (size_t i = 0; i < tp.size(); ++i)
        s += fmt::format(
            "<circle class=target-point cx=\"{:.2f}\" cy=\"{:.2f}\" r=\"7\" fill=\"{}\"><title>{}: accuracy {:.3f}, "
            "cost {}</title></circle><text class=point-label x=\"{:.2f}\" y=\"{:.2f}\">{}</text>",
            ch.sx(tp[i].x), ch.sy(tp[i].y), kPalette[i % std::size(kPalette)], esc(targets[i].value("name", "")),
            tp[i].y, fmt_cost(tp[i].x), ch.sx(tp[i].x) + 10, ch.sy(tp[i].y) - 8, esc(targets[i].value("name", "")));
    return s + "</svg>";
}

// The cascade's calibration curve by escalation rate, with the chosen threshold marked.
std::string escalation_chart(const ordered_json& cascade) {
    const auto& curve = at_or_null(cascade, "curve");
    if (!curve.is_array() || curve.empty()) return "";
    std::vector<double> ys;
    for (const auto& p : curve) ys.push_back(num_or(p["accuracy"], 0));
    Chart ch;
    std::tie(ch.y0, ch.y1) = accuracy_range(ys);
    std::string s = fmt::format(
        "<h2>Cascade calibration ({})</h2><p class=note>Escalate when the small step's <b>{}</b> is below the "
        "threshold: the share of cases escalated against the accuracy of the cascade, calibration split ({} "
        "cases).</p>",
        esc(cascade.value("signal", "")), esc(cascade.value("signal", "")), num_or(at_or_null(cascade, "n_calibration"), 0));
    s += ch.open(fmt::format("id=escalation-curve data-points=\"{}\"", curve.size()), "Escalation rate vs accuracy",
                 "escalation rate", "accuracy");
    std::string pts;
    for (const auto& p : curve)
        pts += fmt::format("{:.2f},{:.2f} ", ch.sx(num_or(p["escalation_rate"], 0)), ch.sy(num_or(p["accuracy"], 0)));
    s += fmt::format("<polyline class=curve points=\"{}\"/>", pts);
    for (const auto& p : curve)
        s += fmt::format("<circle class=curve-point cx=\"{:.2f}\" cy=\"{:.2f}\" r=\"3\"><title>threshold {} · "
                         "escalation {:.3f} · accuracy {:.3f} · cost {}</title></circle>",
                         ch.sx(num_or(p["escalation_rate"], 0)), ch.sy(num_or(p["accuracy"], 0)),
                         is_num(p["threshold"]) ? fmt::format("{:.4g}", p["threshold"].get<double>()) : "∞",
                         num_or(p["escalation_rate"], 0), num_or(p["accuracy"], 0), fmt_cost(num_or(p["mean_cost"], 0)));
    const auto& chosen = at_or_null(cascade, "chosen");
    if (chosen.is_object())
        s += fmt::format("<circle class=chosen cx=\"{:.2f}\" cy=\"{:.2f}\" r=\"8\"><title>chosen threshold</title>"
                         "</circle>",
                         ch.sx(num_or(chosen["calibration_escalation_rate"], 0)),
                         ch.sy(num_or(chosen["calibration_accuracy"], 0)));
    s += "</svg>";
    if (chosen.is_object()) {
        const auto& test = at_or_null(cascade, "test");
        s += fmt::format(
            "<table id=cascade-test><thead><tr><th>on the test split ({} cases)</th><th>accuracy</th>"
            "<th>escalation rate</th><th>cost / case</th></tr></thead><tbody>"
            "<tr><td>cascade, threshold {}</td><td>{}</td><td>{}</td><td>{}</td></tr>"
            "<tr><td>small alone</td><td>{}</td><td>0</td><td>{}</td></tr>"
            "<tr><td>large alone</td><td>{}</td><td>1</td><td>{}</td></tr></tbody></table>",
            num_or(at_or_null(cascade, "n_test"), 0),
            is_num(chosen["threshold"]) ? fmt::format("{:.6g}", chosen["threshold"].get<double>()) : "∞",
            fmt_interval(at_or_null(test, "accuracy")), fmt_interval(at_or_null(test, "escalation_rate")),
            fmt_interval(at_or_null(test, "mean_cost"), 6),
            fmt_interval(at_or_null(at_or_null(cascade, "small_alone"), "accuracy")),
            fmt_interval(at_or_null(at_or_null(cascade, "small_alone"), "mean_cost"), 6),
            fmt_interval(at_or_null(at_or_null(cascade, "large_alone"), "accuracy")),
            fmt_interval(at_or_null(at_or_null(cascade, "large_alone"), "mean_cost"), 6));
        if (cascade.contains("config"))
            s += fmt::format("<p class=note>Routing config:</p><pre>{}</pre>", esc(cascade.value("config", "")));
    }
    return s;
}

// The month at the user's traffic (cascade.projection, the `kinglet cost --project` arithmetic): the
// measured inputs it used, then one row per option with every figure in a data-v attribute at full precision.
std::string projection_table(const ordered_json& proj) {
    if (!proj.is_object() || !at_or_null(proj, "options").is_array()) return "";
    const auto& in = at_or_null(proj, "input");
    auto n = [&](const char* key) { return num_or(at_or_null(in, key), 0); };
    std::string s = fmt::format(
        "<h2>Projected monthly cost</h2><p class=note id=projection-input>At <b>{:g}</b> requests/day × {:g} days = "
        "{:g} requests/month; per request {:.1f} input + {:.1f} output tokens (the large step's test-split means) at "
        "${:g} / ${:g} per million tokens = ${:.6f} on the API; the small step busies a machine ({}/hour, peak × {:g}) "
        "for {:.3f} s per request; the cascade escalates {:.1f}% (the test split's rate at the chosen threshold). "
        "The arithmetic of <code>kinglet cost --project</code>.</p>",
        n("requests_per_day"), n("days_per_month"), num_or(at_or_null(proj, "monthly_requests"), 0), n("input_tokens"),
        n("output_tokens"), n("api_input_per_mtok"), n("api_output_per_mtok"),
        num_or(at_or_null(proj, "api_usd_per_request"), 0), fmt::format("${:g}", n("machine_usd_per_hour")),
        n("peak_factor"), num_or(at_or_null(proj, "local_seconds_per_request"), 0), n("escalation_rate") * 100);
    s += "<table id=projection><thead><tr><th>option</th><th>monthly USD</th><th>API USD</th><th>machines USD</th>"
         "<th>machines</th><th>busy</th><th>USD / 1k requests</th><th>vs all-API</th></tr></thead><tbody>";
    for (const auto& o : proj["options"]) {
        const std::string name = o.value("name", "");
        const char* title = name == "all_api" ? "every request on the API"
                            : name == "all_slm" ? "every request on the small model"
                            : name == "hybrid"  ? "the calibrated cascade"
                                                : "";
        const double monthly = num_or(at_or_null(o, "monthly_usd"), 0), api = num_or(at_or_null(o, "api_usd"), 0),
                     local = num_or(at_or_null(o, "local_usd"), 0), util = num_or(at_or_null(o, "utilization"), 0),
                     per1k = num_or(at_or_null(o, "usd_per_1k_requests"), 0),
                     saved = num_or(at_or_null(o, "savings_vs_api_fraction"), 0);
        const int64_t machines = int64_t(num_or(at_or_null(o, "machines"), 0));
        s += fmt::format(
            "<tr data-option=\"{}\"><td>{} <span class=spec>{}</span></td><td class=monthly data-v=\"{:.17g}\">{:.2f}</td>"
            "<td class=api data-v=\"{:.17g}\">{:.2f}</td><td class=local data-v=\"{:.17g}\">{:.2f}</td>"
            "<td class=machines>{}</td><td class=busy data-v=\"{:.17g}\">{}</td><td class=per1k data-v=\"{:.17g}\">{:.4f}</td>"
            "<td class=savings data-v=\"{:.17g}\">{}</td></tr>",
            esc(name), esc(name), title, monthly, monthly, api, api, local, local, machines, util,
            machines ? fmt::format("{:.0f}%", util * 100) : "-", per1k, per1k, saved,
            name == "all_api" ? "-" : fmt::format("{:+.1f}%", -saved * 100));
    }
    return s + "</tbody></table>";
}

std::string reliability_chart(const std::string& name, const ordered_json& rel) {
    const auto& count = at_or_null(rel, "count");
    if (!count.is_array() || count.empty()) return "";
    const size_t bins = count.size();
    Chart ch;
    ch.w = 380;
    ch.h = 320;
    int64_t bars = 0;
    for (const auto& c : count) bars += c.get<int64_t>() > 0;
    std::string s = ch.open(fmt::format("class=reliability data-target=\"{}\" data-bars=\"{}\"", esc(name), bars),
                            "Reliability of " + name, fmt::format("{} (confidence)", rel.value("signal", "label_prob")),
                            "accuracy");
    s += fmt::format("<line class=diagonal x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>", ch.sx(0), ch.sy(0), ch.sx(1),
                     ch.sy(1));
    for (size_t b = 0; b < bins; ++b) {
        if (count[b].get<int64_t>() == 0) continue;
        const double acc = num_or(rel["accuracy"][b], 0), conf = num_or(rel["confidence"][b], 0);
        const double xa = ch.sx(double(b) / double(bins)), xb = ch.sx(double(b + 1) / double(bins));
        s += fmt::format("<rect class=bar x=\"{:.2f}\" y=\"{:.2f}\" width=\"{:.2f}\" height=\"{:.2f}\"><title>{} "
                         "cases · mean confidence {:.3f} · accuracy {:.3f}</title></rect>",
                         xa + 1, ch.sy(acc), xb - xa - 2, ch.sy(0) - ch.sy(acc), count[b].get<int64_t>(), conf, acc);
        s += fmt::format("<circle class=confidence cx=\"{:.2f}\" cy=\"{:.2f}\" r=\"3\"/>", ch.sx(conf), ch.sy(acc));
    }
    s += "</svg>";
    if (is_num(at_or_null(rel, "ece")))
        s += fmt::format("<p class=note>Expected calibration error {:.3f}. Bars: accuracy per confidence bin; dots: "
                         "accuracy at the bin's mean confidence (on the diagonal when calibrated).</p>",
                         rel["ece"].get<double>());
    return s;
}

std::string confusion_table(const std::string& name, const ordered_json& summary) {
    const auto& per = at_or_null(summary, "per_class");
    const auto& mat = at_or_null(at_or_null(summary, "confusion"), "matrix");
    if (!per.is_array() || !mat.is_array()) return "";
    int64_t mx = 1;
    for (const auto& row : mat)
        for (const auto& v : row) mx = std::max(mx, v.get<int64_t>());
    std::string s = fmt::format("<table class=confusion data-target=\"{}\"><caption>Confusion matrix of {} (rows "
                                "expected, columns predicted)</caption><thead><tr><th></th>",
                                esc(name), esc(name));
    for (const auto& c : per) s += fmt::format("<th>{}</th>", esc(c.value("label", "")));
    s += "<th>(none)</th><th>recall</th></tr></thead><tbody>";
    for (size_t r = 0; r < mat.size() && r < per.size(); ++r) {
        s += fmt::format("<tr><th>{}</th>", esc(per[r].value("label", "")));
        for (size_t c = 0; c < mat[r].size(); ++c) {
            const int64_t v = mat[r][c].get<int64_t>();
            const double a = double(v) / double(mx);
            s += fmt::format("<td class=\"{}\" style=\"background:rgba({},{:.3f})\">{}</td>", c == r ? "diag" : "off",
                             c == r ? "44,160,44" : "214,39,40", v ? 0.12 + 0.7 * a : 0.0, v);
        }
        s += fmt::format("<td>{:.3f}</td></tr>", num_or(per[r]["recall"], 0));
    }
    s += "</tbody><tfoot><tr><th>precision</th>";
    for (const auto& c : per) s += fmt::format("<td>{:.3f}</td>", num_or(c["precision"], 0));
    return s + "<td></td><td></td></tr></tfoot></table>";
}

const char* kStyle = R"(
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1100px;color:#222;padding:0 16px}
h1{font-size:22px}h2{font-size:17px;margin-top:32px;border-bottom:1px solid #ddd;padding-bottom:4px}
table{border-collapse:collapse;margin:8px 0}th,td{border:1px solid #ddd;padding:4px 8px;text-align:right}
th:first-child,td:first-child{text-align:left}thead th{background:#f4f4f4;cursor:default}
table.sortable thead th{cursor:pointer}.ci{color:#777;font-size:12px}.spec{color:#777;font-size:11px}
.swatch{display:inline-block;width:10px;height:10px;margin-right:6px;border-radius:2px}
svg{font-size:11px;margin:6px 12px 6px 0;vertical-align:top}svg .frame{fill:none;stroke:#999}
svg .grid{stroke:#eee}svg .tick{fill:#555}svg .axis{fill:#222;font-size:12px}
svg .curve{fill:none;stroke:#555;stroke-width:1.5}svg .curve-point{fill:#555}
svg .chosen{fill:none;stroke:#d62728;stroke-width:2.5}svg .target-point{stroke:#fff;stroke-width:1.5}
svg .point-label{font-size:12px}svg .diagonal{stroke:#999;stroke-dasharray:4 3}
svg .bar{fill:#1f77b4;fill-opacity:.75}svg .confidence{fill:#ff7f0e}
.note{color:#555;font-size:13px}pre{background:#f6f6f6;padding:8px}
.per-target{display:flex;flex-wrap:wrap;align-items:flex-start;gap:8px}
caption{text-align:left;font-weight:600;padding:4px 0}
)";

// Click a header of table#targets to sort by it (numbers by their data-v value).
const char* kScript = R"(
document.querySelectorAll('table.sortable').forEach(function(t){
  t.querySelectorAll('thead th').forEach(function(th,i){
    th.addEventListener('click',function(){
      var rows=Array.prototype.slice.call(t.tBodies[0].rows);
      var dir=th.dataset.dir==='asc'?-1:1;th.dataset.dir=dir===1?'asc':'desc';
      rows.sort(function(a,b){
        var x=a.cells[i],y=b.cells[i];
        var vx=x.dataset.v!==undefined?parseFloat(x.dataset.v):x.textContent;
        var vy=y.dataset.v!==undefined?parseFloat(y.dataset.v):y.textContent;
        return (vx<vy?-1:vx>vy?1:0)*dir;});
      rows.forEach(function(r){t.tBodies[0].appendChild(r);});});});});
)";

}  // namespace

std::string html_report(const ordered_json& report) {
    const auto& targets = at_or_null(report, "targets");
    const ordered_json no_targets = ordered_json::array();
    const auto& ts = targets.is_array() ? targets : no_targets;
    const auto& cascade = at_or_null(report, "cascade");
    std::string s = "<!DOCTYPE html><html lang=en><head><meta charset=utf-8><meta name=viewport "
                    "content=\"width=device-width\"><title>kinglet eval report</title><style>";
    s += kStyle;
    s += "</style></head><body><h1>kinglet eval report</h1>";
    s += fmt::format("<p class=note>Dataset <code>{}</code>", esc(report.value("data", "")));
    if (report.contains("split")) s += fmt::format(", split <code>{}</code>", esc(report.value("split", "")));
    s += ". Intervals are 95% percentile-bootstrap intervals over the cases.</p>";
    s += targets_table(ts);
    s += comparisons_table(at_or_null(report, "comparisons"));
    s += cost_accuracy_chart(ts, cascade);
    s += escalation_chart(cascade);
    s += projection_table(at_or_null(cascade, "projection"));
    bool any_class = false;
    for (const auto& t : ts) any_class = any_class || at_or_null(t, "summary").contains("confusion");
    if (any_class) {
        s += "<h2>Reliability and confusion</h2><p class=note>Reliability: is a confidence of 0.8 right 80% of the "
             "time? Confusion: which labels each target mixes up.</p>";
        for (const auto& t : ts) {
            const auto& sm = at_or_null(t, "summary");
            if (!sm.contains("confusion")) continue;
            const std::string name = t.value("name", "");
            s += fmt::format("<h3>{}</h3><div class=per-target>", esc(name));
            s += reliability_chart(name, at_or_null(sm, "reliability"));
            s += confusion_table(name, sm);
            s += "</div>";
        }
    }
    s += "<script>";
    s += kScript;
    s += "</script></body></html>\n";
    return s;
}

void write_html_report(const std::string& path, const ordered_json& report) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) fail(Errc::io, "{}: cannot write the HTML report", path);
    out << html_report(report);
    out.flush();
    if (!out) fail(Errc::io, "{}: cannot write the HTML report", path);
}

}  // namespace kinglet::eval
