// kinglet calibrate: choose a cascade's escalation threshold from two `kinglet eval --results` files
// (small and large target on the same cases), and report it on the held-out test split.
#include <fmt/format.h>

#include <memory>
#include <sstream>

#include "cli/command.h"
#include "core/error.h"
#include "eval/cascade_report.h"
#include "eval/html_report.h"

namespace kinglet::cli {
namespace {

struct Options {
    std::string small, large, small_target, large_target, html, signal = "label_prob", objective = "escalation=5%", small_price = "0,0",
                                   large_price = "0,0";
    uint64_t seed = 1;
    int resamples = 1000;
    bool json = false;
};

int run(const Options& o) {
    eval::CascadeOptions c;
    c.signal = o.signal;
    c.objective = eval::parse_objective(o.objective);
    c.small_price = eval::parse_price("--small-price", o.small_price);
    c.large_price = eval::parse_price("--large-price", o.large_price);
    c.bootstrap.seed = o.seed;
    c.bootstrap.resamples = o.resamples;
    const auto rep = eval::calibrate_cascade(eval::read_results(o.small, o.small_target),
                                            eval::read_results(o.large, o.large_target), c);
    if (!o.html.empty()) {
        // The report's targets are the two steps alone on the test split.
        auto alone = [&](const char* name, const std::string& file, const char* key) {
            const auto& a = rep[key];
            return nlohmann::ordered_json{{"name", name},
                                          {"spec", file},
                                          {"summary", {{"n", rep["n_test"]}, {"accuracy", a["accuracy"]}}},
                                          {"cost", {{"mean", a["mean_cost"]["estimate"]}}}};
        };
        eval::write_html_report(o.html, {{"data", o.small + " + " + o.large},
                                         {"split", "test"},
                                         {"targets", {alone("small", o.small, "small_alone"),
                                                      alone("large", o.large, "large_alone")}},
                                         {"cascade", rep}});
    }
    if (o.json) fmt::print("{}\n", rep.dump(2));
    else fmt::print("{}", eval::format_cascade(rep));
    return rep["chosen"].is_null() ? 2 : 0;
}

const Registrar registrar{Command{
    "calibrate",
    "Choose a cascade's escalation threshold from the results of two `kinglet eval` runs",
    [](CLI::App& sub) {
        auto o = std::make_shared<Options>();
        sub.add_option("--small", o->small, "Results file (kinglet eval --results) of the small target")->required();
        sub.add_option("--large", o->large, "Results file of the large target on the same cases")->required();
        sub.add_option("--small-target", o->small_target, "The small target's name, when the file holds several");
        sub.add_option("--large-target", o->large_target, "The large target's name, when the file holds several");
        sub.add_option("--signal", o->signal, "label_prob, margin, mean_logprob or min_logprob")->capture_default_str();
        sub.add_option("--objective", o->objective,
                       "escalation=R (e.g. 5%), accuracy=A (e.g. 0.94) or within=POINTS of the large target alone")
            ->capture_default_str();
        sub.add_option("--small-price", o->small_price, "Small target's INPUT,OUTPUT USD per 1M tokens")
            ->capture_default_str();
        sub.add_option("--large-price", o->large_price, "Large target's INPUT,OUTPUT USD per 1M tokens")
            ->capture_default_str();
        sub.add_option("--seed", o->seed, "Bootstrap seed")->capture_default_str();
        sub.add_option("--resamples", o->resamples, "Bootstrap resamples")->capture_default_str();
        sub.add_flag("--json", o->json, "Print the report as JSON");
        sub.add_option("--html", o->html, "Write a self-contained HTML report (curve, tables) to FILE");
        sub.footer("The threshold is chosen on the 'calibration' split and reported on the 'test' split (see "
                   "kinglet eval --split-fractions). Exit status 2 when no threshold meets the objective.");
        return [o] { return run(*o); };
    },
}};

}  // namespace
}  // namespace kinglet::cli
