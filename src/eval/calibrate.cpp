#include "eval/calibrate.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"

namespace kinglet::eval {

namespace {
struct Outcome {
    bool escalated;
    bool correct;
    double cost;
};
Outcome outcome(const CascadeCase& c, double t) {
    const bool esc = c.confidence < t;
    return {esc, esc ? c.large_correct : c.small_correct, esc ? c.small_cost + c.large_cost : c.small_cost};
}
}  // namespace

std::vector<CurvePoint> sweep(const std::vector<CascadeCase>& cases) {
    std::vector<CurvePoint> out;
    if (cases.empty()) return out;
    std::vector<size_t> order(cases.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return cases[a].confidence < cases[b].confidence; });
    // Start from "escalate none" and move cases to the large step in order of confidence.
    const double n = double(cases.size());
    double correct = 0, cost = 0;
    for (const auto& c : cases) {
        correct += c.small_correct;
        cost += c.small_cost;
    }
    size_t escalated = 0;
    for (size_t i = 0; i <= order.size();) {
        const double t = i < order.size() ? cases[order[i]].confidence : std::numeric_limits<double>::infinity();
        out.push_back({t, double(escalated) / n, correct / n, cost / n});
        if (i == order.size()) break;
        // Escalate the whole group of equal confidence (they are on the same side of any threshold).
        size_t j = i;
        while (j < order.size() && cases[order[j]].confidence == t) {
            const auto& c = cases[order[j]];
            correct += double(c.large_correct) - double(c.small_correct);
            cost += c.large_cost;
            ++escalated;
            ++j;
        }
        i = j;
    }
    return out;
}

Objective parse_objective(const std::string& text) {
    const auto eq = text.find('=');
    if (eq == std::string::npos)
        fail(Errc::invalid_argument, "objective '{}': expected escalation=R, accuracy=A or within=POINTS", text);
    const std::string key = text.substr(0, eq);
    std::string val = text.substr(eq + 1);
    bool percent = !val.empty() && val.back() == '%';
    if (percent) val.pop_back();
    double v = 0;
    try {
        size_t used = 0;
        v = std::stod(val, &used);
        if (used != val.size()) throw std::invalid_argument("trailing");
    } catch (const std::exception&) {
        fail(Errc::invalid_argument, "objective '{}': '{}' is not a number", text, text.substr(eq + 1));
    }
    if (percent) v /= 100;
    Objective o;
    o.value = v;
    if (key == "escalation") o.kind = Objective::Kind::target_escalation;
    else if (key == "accuracy") o.kind = Objective::Kind::target_accuracy;
    else if (key == "within") {
        o.kind = Objective::Kind::within_large;
        if (!percent) o.value = v / 100;  // points of accuracy
    } else
        fail(Errc::invalid_argument, "objective '{}': unknown kind '{}' (escalation, accuracy, within)", text, key);
    if (!(o.value >= 0 && o.value <= 1))
        fail(Errc::invalid_argument, "objective '{}': the value must be between 0 and 1 (or 0% and 100%)", text);
    return o;
}

std::optional<CurvePoint> choose(const std::vector<CurvePoint>& curve, const Objective& obj, double large_acc) {
    std::optional<CurvePoint> best;
    for (const auto& p : curve) {
        switch (obj.kind) {
            case Objective::Kind::target_escalation:
                // Curve is ordered by escalation; keep the last one within the target.
                if (p.escalation_rate <= obj.value + 1e-12) best = p;
                break;
            case Objective::Kind::target_accuracy:
                if (p.accuracy >= obj.value - 1e-12 && (!best || p.mean_cost < best->mean_cost)) best = p;
                break;
            case Objective::Kind::within_large:
                if (p.accuracy >= large_acc - obj.value - 1e-12 && (!best || p.mean_cost < best->mean_cost)) best = p;
                break;
        }
    }
    return best;
}

CascadeEval evaluate_threshold(const std::vector<CascadeCase>& cases, double t, const BootstrapOptions& opt) {
    CascadeEval e;
    e.threshold = t;
    e.n = cases.size();
    std::vector<double> correct, esc, cost;
    for (const auto& c : cases) {
        auto o = outcome(c, t);
        correct.push_back(o.correct);
        esc.push_back(o.escalated);
        cost.push_back(o.cost);
    }
    e.accuracy = bootstrap_mean(correct, opt);
    e.escalation_rate = bootstrap_mean(esc, opt);
    e.mean_cost = bootstrap_mean(cost, opt);
    return e;
}

double signal_auroc(const std::vector<CascadeCase>& cases) {
    std::vector<double> s;
    std::unique_ptr<bool[]> pos(new bool[cases.size()]);
    for (size_t i = 0; i < cases.size(); ++i) {
        s.push_back(cases[i].confidence);
        pos[i] = cases[i].small_correct;
    }
    return auroc(s, std::span<const bool>(pos.get(), cases.size()));
}

}  // namespace kinglet::eval
