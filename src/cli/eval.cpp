// kinglet eval: measure one or more targets (local GGUF files, a running kinglet, remote APIs, routes)
// on a labelled dataset, side by side; per-case results go to a JSONL file a rerun resumes from.
#include <fmt/format.h>

#include <array>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/command.h"
#include "cli/companion.h"
#include "eval/config_targets.h"
#include "cli/eval_targets.h"
#include "cli/model_args.h"
#include "core/error.h"
#include "eval/config_threshold.h"
#include "eval/cascade_report.h"
#include "eval/html_report.h"
#include "eval/run_report.h"
#include "eval/runner.h"
#include "ledger/projection.h"
#include "sampling/json_schema_spec.h"

namespace kinglet::cli {
namespace {

using nlohmann::ordered_json;

const char* kDefaultTemplate = "{{ input }}\nAnswer ({{ labels | join(', ') }}):";

struct Options {
    ModelArgs model;
    std::vector<std::string> targets, prices;
    std::string data, format, labels, template_text, template_file, results, html, split = "all",
                                                                                   fractions = "0,0.5,0.5";
    std::string request = "auto", config, judge, rubric, judge_price, json_schema, response_format = "text";
    std::string calibrate, objective, target_escalation, target_accuracy, within, signal;
    bool write_config = false;
    double traffic = 0, machine_usd_per_hour = -1, peak_factor = 1, prefill_tps = 0, decode_tps = 0;
    eval::FieldMap fields;
    uint64_t seed = 1;
    size_t limit = 0;
    int jobs = 1;
    bool stratify = false, json = false, quiet = false, ignore_case = false;
    std::string grader = "exact";
    int max_tokens = 64;
    std::vector<std::string> stop;
    int resamples = 1000;
};

std::vector<std::string> split_list(const std::string& s) {
    std::vector<std::string> out;
    std::string cur;
    std::istringstream in(s);
    while (std::getline(in, cur, ',')) out.push_back(cur);
    return out;
}

eval::SplitSpec parse_fractions(const std::string& s, uint64_t seed) {
    auto parts = split_list(s);
    if (parts.size() != 3)
        fail(Errc::invalid_argument, "--split-fractions wants TRAIN,CALIBRATION,TEST (got '{}')", s);
    double v[3];
    for (int i = 0; i < 3; ++i) {
        try {
            v[i] = std::stod(parts[size_t(i)]);
        } catch (const std::exception&) {
            fail(Errc::invalid_argument, "--split-fractions: '{}' is not a number", parts[size_t(i)]);
        }
    }
    return eval::SplitSpec{v[0], v[1], v[2], seed};
}

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail(Errc::not_found, "{}: cannot open", path);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// --price: "IN,OUT" in the order of the targets, or "NAME=IN,OUT".
std::vector<std::optional<eval::Price>> target_prices(const std::vector<std::string>& flags,
                                                      const std::vector<eval::TargetSpec>& specs) {
    std::vector<std::optional<eval::Price>> out(specs.size());
    size_t next = 0;
    for (const auto& f : flags) {
        const auto eq = f.find('=');
        if (eq == std::string::npos) {
            if (next >= specs.size()) fail(Errc::invalid_argument, "--price '{}': more prices than targets", f);
            out[next++] = eval::parse_price("--price", f);
            continue;
        }
        const std::string name = f.substr(0, eq);
        size_t i = 0;
        while (i < specs.size() && specs[i].name != name && specs[i].text != name) ++i;
        if (i == specs.size()) fail(Errc::invalid_argument, "--price '{}': no target is named '{}'", f, name);
        out[i] = eval::parse_price("--price", f.substr(eq + 1));
    }
    return out;
}

// --calibrate: the objective from --objective or one of its shorthands.
eval::Objective objective_of(const Options& o) {
    int given = !o.objective.empty() + !o.target_escalation.empty() + !o.target_accuracy.empty() + !o.within.empty();
    if (given > 1)
        fail(Errc::invalid_argument, "give one of --objective, --target-escalation, --target-accuracy, --within");
    if (!o.target_escalation.empty()) return eval::parse_objective("escalation=" + o.target_escalation);
    if (!o.target_accuracy.empty()) return eval::parse_objective("accuracy=" + o.target_accuracy);
    if (!o.within.empty()) return eval::parse_objective("within=" + o.within);
    return eval::parse_objective(o.objective.empty() ? "escalation=5%" : o.objective);
}

// A month at --traffic requests/day, three ways (ledger::project, the `kinglet cost --project` arithmetic):
// every request on the large step's API, every request on the small step's machines, and the calibrated
// cascade. Tokens per request are the large step's measured means (what the API bills); the small
// step's machine time per request is its measured mean latency unless --prefill-tps/--decode-tps say.
ledger::Projection project(const Options& o, const eval::CalibrationRoute& route, const eval::RunOutcome& out,
                           const eval::ReportOptions& ro, double escalation) {
    auto means = [&](size_t t) {
        double in = 0, outt = 0, ms = 0, n = 0;
        const auto& tr = out.targets.at(t);
        for (const auto& row : tr.rows) {
            if (tr.split(row) != "test") continue;
            in += row.prompt_tokens;
            outt += row.completion_tokens;
            ms += row.latency_ms;
            ++n;
        }
        return n > 0 ? std::array<double, 3>{in / n, outt / n, ms / n} : std::array<double, 3>{0, 0, 0};
    };
    const auto small = means(0), large = means(1);
    ledger::ProjectionInput in;
    in.requests_per_day = o.traffic;
    in.input_tokens = large[0];
    in.output_tokens = large[1];
    in.api_input_per_mtok = ro.prices[1] ? ro.prices[1]->input_per_mtok : 0;
    in.api_output_per_mtok = ro.prices[1] ? ro.prices[1]->output_per_mtok : 0;
    const double seconds = small[2] / 1000;
    const double tps = seconds > 0 ? (in.input_tokens + in.output_tokens) / seconds : 0;
    in.prefill_tps = o.prefill_tps > 0 ? o.prefill_tps : tps;
    in.decode_tps = o.decode_tps > 0 ? o.decode_tps : tps;
    in.machine_usd_per_hour = o.machine_usd_per_hour >= 0 ? o.machine_usd_per_hour : route.small.usd_per_hour.value_or(-1);
    if (in.machine_usd_per_hour < 0)
        fail(Errc::invalid_argument, "--traffic needs the small step's machine cost: --machine-usd-per-hour USD, or "
             "price_per_hour_usd on model '{}' in {}", route.small.name, o.config);
    in.escalation_rate = escalation;
    in.peak_factor = o.peak_factor;
    return ledger::project(in);
}

// A step's target as the config file writes it: a name, or [a, b] for a fallback list.
std::string yaml_target(const eval::CalibrationStep& s) {
    if (s.target.fallback.empty()) return s.name;
    std::string out;
    for (const auto& n : s.target.fallback) out += (out.empty() ? "" : ", ") + n;
    return "[" + out + "]";
}

int run(Options o) {
    std::shared_ptr<eval::ConfigTargets> config;
    if (!o.config.empty()) config = std::make_shared<eval::ConfigTargets>(o.config, o.model.threads, o.quiet || o.json);
    std::optional<eval::CalibrationRoute> route;
    if (!o.calibrate.empty()) {
        if (o.config.empty()) fail(Errc::invalid_argument, "--calibrate ROUTE needs --config FILE");
        if (!o.model.path.empty() || !o.targets.empty())
            fail(Errc::invalid_argument, "--calibrate runs the route's own steps; drop -m and --target");
        route = config->calibration_route(o.calibrate);
        if (o.write_config) {
            // The file's threshold is compared with the signal the route declares: a threshold calibrated
            // on another signal would be silently wrong there.
            const std::string sig = o.signal.empty() ? route->signal : o.signal;
            if (route->signal.empty() || sig != route->signal)
                fail(Errc::invalid_argument,
                     "--write-config: route '{}' in {} escalates on {}, but the threshold would be calibrated on {}; "
                     "set the step's signal: in the file first (the router knows label_prob, mean_logprob and "
                     "min_logprob)",
                     o.calibrate, o.config, route->signal.empty() ? "no signal" : "signal " + route->signal,
                     sig.empty() ? "label_prob" : sig);
        }
        if (o.labels.empty())
            for (const auto& l : route->labels) o.labels += (o.labels.empty() ? "" : ",") + l;
        if (o.split == "all") o.split = "calibration+test";
    } else if (o.write_config || o.traffic > 0 || !o.target_escalation.empty() || !o.target_accuracy.empty() || !o.within.empty() ||
               !o.objective.empty()) {
        fail(Errc::invalid_argument, "--write-config, --traffic and objectives go with --calibrate ROUTE");
    }
    const auto labels = split_list(o.labels);
    const bool classify = !labels.empty();
    if (!classify && o.grader != "exact" && o.grader != "contains" && o.grader != "regex" && o.grader != "json" &&
        o.grader != "judge")
        fail(Errc::invalid_argument, "--grader must be exact, contains, regex, json or judge (is '{}')", o.grader);
    if (o.max_tokens < 1) fail(Errc::invalid_argument, "--max-tokens must be at least 1");
    if (o.jobs < 1) fail(Errc::invalid_argument, "-j must be at least 1");
    if (o.request != "auto" && o.request != "text" && o.request != "chat")
        fail(Errc::invalid_argument, "--request must be auto, text or chat");
    if (o.grader == "judge" && (o.judge.empty() || o.rubric.empty()))
        fail(Errc::invalid_argument, "--grader judge needs --judge TARGET and --rubric FILE");

    std::vector<eval::TargetSpec> specs;
    if (route) specs = {route->small.target, route->large.target};
    if (!o.model.path.empty()) specs.push_back(eval::parse_target("local:" + o.model.path));
    for (const auto& t : o.targets) specs.push_back(eval::parse_target(t));
    if (specs.empty()) fail(Errc::invalid_argument, "no target: give -m MODEL.gguf or --target SPEC");
    unique_names(specs);

    eval::RunSettings rs;
    rs.data = o.data;
    if (o.format == "csv") rs.format = eval::Format::csv;
    else if (o.format == "jsonl") rs.format = eval::Format::jsonl;
    else if (!o.format.empty()) fail(Errc::invalid_argument, "--format must be jsonl or csv");
    rs.fields = o.fields;
    rs.split = parse_fractions(o.fractions, o.seed);
    if (o.split == "train") rs.only = {eval::Split::train};
    else if (o.split == "calibration") rs.only = {eval::Split::calibration};
    else if (o.split == "test") rs.only = {eval::Split::test};
    else if (o.split == "calibration+test") rs.only = {eval::Split::calibration, eval::Split::test};
    else if (o.split != "all") fail(Errc::invalid_argument, "--split must be all, train, calibration, test or calibration+test");
    rs.limit = o.limit;
    rs.stratify = o.stratify;
    rs.template_source = !o.template_file.empty() ? slurp(o.template_file)
                         : !o.template_text.empty() ? o.template_text
                         : classify                 ? std::string(kDefaultTemplate)
                                                    : std::string("{{ input }}");
    rs.task.labels = labels;
    rs.task.max_tokens = o.max_tokens;
    rs.task.stop = o.stop;
    rs.grader = classify ? "label" : o.grader;
    rs.ignore_case = o.ignore_case;
    rs.results = o.results;
    rs.jobs = o.jobs;
    rs.quiet = o.quiet;

    ordered_json target_texts = ordered_json::array();
    for (const auto& s : specs) target_texts.push_back(s.text);
    rs.header = {{"kinglet_eval", 2},       {"targets", target_texts}, {"data", o.data},
                 {"labels", labels},        {"template", rs.template_source}, {"split", o.split},
                 {"fractions", o.fractions}, {"seed", o.seed},        {"limit", o.limit},
                 {"stratify", o.stratify},  {"request", o.request}};
    if (!classify)
        rs.header.update({{"grader", o.grader}, {"ignore_case", o.ignore_case}, {"max_tokens", o.max_tokens},
                          {"stop", o.stop}});
    if (o.grader == "judge" && !classify) rs.header.update({{"judge", o.judge}, {"rubric", o.rubric}});
    std::optional<eval::JsonSchema> schema;
    nlohmann::ordered_json parsed;  // the --json-schema document, read once
    if (!o.json_schema.empty()) {
        if (classify || o.grader != "json") fail(Errc::invalid_argument, "--json-schema goes with --grader json");
        parsed = nlohmann::ordered_json::parse(slurp(o.json_schema), nullptr, false);
        if (parsed.is_discarded()) fail(Errc::invalid_argument, "{}: not a JSON document (--json-schema)", o.json_schema);
        try {
            schema.emplace(parsed);
        } catch (const Error& e) {
            fail(Errc::invalid_argument, "{}: {}", o.json_schema, e.what());
        }
        rs.schema = &*schema;
        rs.header["json_schema"] = o.json_schema;
    }
    if (o.response_format != "text") {
        if (classify) fail(Errc::invalid_argument, "--response-format goes with free-text tasks, not --labels");
        nlohmann::json rf = {{"type", o.response_format}};
        if (o.response_format == "json_schema") {
            if (o.json_schema.empty()) fail(Errc::invalid_argument, "--response-format json_schema needs --json-schema FILE");
            const nlohmann::json s = nlohmann::json::parse(parsed.dump());
            try {
                rs.task.json_schema = std::make_shared<const CompiledSchema>(compile_json_schema(s));
            } catch (const Error& e) {
                fail(Errc::invalid_argument, "{}: {} (--response-format json_schema enforces only part of JSON Schema)",
                     o.json_schema, e.what());
            }
            rf["json_schema"] = {{"name", "eval"}, {"schema", s}};
        } else if (o.response_format != "json_object") {
            fail(Errc::invalid_argument, "--response-format '{}': expected text, json_object or json_schema",
                 o.response_format);
        }
        rs.task.json_object = true;
        rs.task.response_format = rf.dump();
        rs.header["response_format"] = o.response_format;
    }

    TargetContext ctx;
    ctx.model = o.model;
    ctx.config = config;
    ctx.task = rs.task;
    ctx.quiet = o.quiet || o.json;
    ctx.jobs = o.jobs;
    std::vector<std::unique_ptr<eval::Target>> owned;
    std::vector<eval::Target*> targets;
    for (const auto& s : specs) {
        // Kinglet models (local files, kinglet servers) get the prompt as text, exactly as the local target
        // sees it; remote APIs and routes, usually chat models, get it as one user message.
        ctx.task.chat = o.request == "chat" ||
                        (o.request == "auto" && (s.kind == eval::TargetSpec::Kind::remote || s.kind == eval::TargetSpec::Kind::route));
        owned.push_back(make_target(s, ctx));
        targets.push_back(owned.back().get());
    }
    std::unique_ptr<eval::Target> judge;
    if (o.grader == "judge" && !classify) {
        eval::TargetSpec js = eval::parse_target(o.judge);
        TargetContext jc = ctx;
        jc.task = eval::TaskSpec{};
        jc.task.max_tokens = 16;
        jc.task.chat = o.request == "chat" || (o.request == "auto" && js.kind != eval::TargetSpec::Kind::local &&
                                               js.kind != eval::TargetSpec::Kind::server);
        judge = make_target(js, jc);
        rs.judge = judge.get();
        rs.rubric = slurp(o.rubric);
    }

    const eval::RunOutcome out = eval::run_cases(targets, rs);

    eval::ReportOptions ro;
    ro.data = o.data;
    ro.split = o.split;
    ro.labels = labels;
    ro.grader = rs.grader;
    ro.prices = target_prices(o.prices, specs);
    if (route) {
        // The config's prices, unless --price says otherwise.
        if (!ro.prices[0]) ro.prices[0] = route->small.price;
        if (!ro.prices[1]) ro.prices[1] = route->large.price;
    }
    if (!o.judge_price.empty()) ro.judge_price = eval::parse_price("--judge-price", o.judge_price);
    ro.bootstrap.resamples = o.resamples;
    ro.bootstrap.seed = o.seed;
    ordered_json report = eval::run_report(targets, out, ro);
    int status = 0;
    std::string cascade_text;
    if (route) {
        eval::CascadeOptions co;
        co.signal = !o.signal.empty() ? o.signal : !route->signal.empty() ? route->signal : "label_prob";
        co.objective = objective_of(o);
        co.small_price = ro.prices[0].value_or(eval::Price{});
        co.large_price = ro.prices[1].value_or(eval::Price{});
        co.bootstrap = ro.bootstrap;
        ordered_json c = eval::cascade_from_run(out, 0, 1, co);
        c["route"] = o.calibrate;
        c["config_file"] = o.config;
        if (!c["chosen"].is_null()) {
            // No threshold = escalate everything: the largest value the router accepts for the signal.
            const double t = !c["chosen"]["threshold"].is_null() ? c["chosen"]["threshold"].get<double>()
                             : co.signal == "label_prob"           ? 1.0
                                                                   : 0.0;
            c["config"] = fmt::format("routes:\n  {}:\n    steps:\n      - {{ target: {}, signal: {}, min_confidence: {} }}\n"
                                      "      - {{ target: {} }}\n",
                                      o.calibrate, yaml_target(route->small), co.signal, t, yaml_target(route->large));
            if (o.write_config) {
                eval::write_cascade_threshold(o.config, o.calibrate, t);
                c["written"] = true;
            }
        } else {
            status = 2;
        }
        cascade_text = eval::format_cascade(c);
        if (o.traffic > 0 && !c["chosen"].is_null()) {
            const auto p = project(o, *route, out, ro, c["test"]["escalation_rate"]["estimate"].get<double>());
            c["projection"] = ledger::to_json(p);
            cascade_text += fmt::format("\nprojected monthly cost at {:g} requests/day (the test split's escalation rate, the "
                                        "measured tokens and latency)\n{}",
                                        o.traffic, ledger::format_projection(p));
        }
        if (o.write_config && c.value("written", false))
            cascade_text += fmt::format("written to {} (route {}, step {})\n", o.config, o.calibrate, route->small.name);
        report["cascade"] = c;
    }
    if (!o.html.empty()) eval::write_html_report(o.html, report);
    if (o.json) fmt::print("{}\n", report.dump(2));
    else fmt::print("{}{}", eval::format_run_report(report), cascade_text.empty() ? "" : "\n" + cascade_text);
    return status;
}

const Registrar registrar{Command{
    "eval",
    std::string(companion_description("eval")),
    [](CLI::App& sub) {
        auto o = std::make_shared<Options>();
        sub.add_option("-m,--model", o->model.path, "A local GGUF model to measure (same as --target local:PATH)");
        sub.add_option("--target", o->targets,
                       "Target (repeatable): local:PATH.gguf, server:URL#MODEL, or with --config remote:NAME, route:NAME, "
                       "model:NAME");
        sub.add_option("--config", o->config,
                       "Config file (the one kinglet serve reads) defining remote:NAME providers, route:NAME routes and "
                       "model:NAME models");
        sub.add_option("--price", o->prices,
                       "INPUT,OUTPUT USD per 1M tokens, per target in order, or NAME=INPUT,OUTPUT (repeatable)");
        sub.add_option("-j,--jobs", o->jobs, "Requests in flight for server, remote and route targets")
            ->capture_default_str();
        sub.add_option("--request", o->request,
                       "auto, text or chat: how provider targets get the prompt (auto: text for server targets, "
                       "one user message for remote and route targets)")
            ->capture_default_str();
        sub.add_option("-t,--threads", o->model.threads, "Threads of local targets (default: physical cores)");
        sub.add_option("-c,--ctx", o->model.ctx, "Context length of local targets");
        sub.add_option("--kv-type", o->model.kv_type, "KV cache type of local targets: f16, f32 or q8_0")->capture_default_str();
        sub.add_option("-d,--data", o->data, "Dataset: JSONL or CSV file of cases")->required();
        sub.add_option("--labels", o->labels,
                       "Comma-separated labels: a classification task, generation constrained to them");
        sub.add_option("--grader", o->grader,
                       "Without --labels: exact, contains, regex (the expected field is the pattern), json "
                       "(field-by-field against an expected object) or judge (--judge, --rubric)")
            ->capture_default_str();
        sub.add_option("--json-schema", o->json_schema,
                       "With --grader json: a JSON Schema file the extracted object must also satisfy (reported as "
                       "schema_valid)");
        sub.add_option("--response-format", o->response_format,
                       "text, json_object (answers are one JSON object: local targets by constrained decoding, "
                       "providers are asked) or json_schema (also an instance of --json-schema)")
            ->capture_default_str();
        sub.add_option("--judge", o->judge, "With --grader judge: the target that grades the answers");
        sub.add_option("--rubric", o->rubric, "With --grader judge: file of grading instructions");
        sub.add_option("--judge-price", o->judge_price, "INPUT,OUTPUT USD per 1M tokens of the judge (added to cost)");
        sub.add_flag("--ignore-case", o->ignore_case, "Graders exact, contains and regex ignore case");
        sub.add_option("--max-tokens", o->max_tokens, "Without --labels: tokens to generate per case")
            ->capture_default_str();
        sub.add_option("--stop", o->stop, "Without --labels: stop string (repeatable)");
        sub.add_option("--format", o->format, "jsonl or csv (default: from the file name)");
        sub.add_option("--template", o->template_text,
                       "Prompt template (Jinja; variables: the row's fields, input, messages, labels)");
        sub.add_option("--template-file", o->template_file, "Read the prompt template from a file");
        sub.add_option("--input-field", o->fields.input, "Field holding the input text")->capture_default_str();
        sub.add_option("--messages-field", o->fields.messages, "Field holding a messages array")
            ->capture_default_str();
        sub.add_option("--expected-field", o->fields.expected, "Field holding the expected label")
            ->capture_default_str();
        sub.add_option("--id-field", o->fields.id, "Field holding the case id (default: line number)")
            ->capture_default_str();
        sub.add_option("--split", o->split, "Cases to run: all, train, calibration, test or calibration+test")->capture_default_str();
        sub.add_option("--split-fractions", o->fractions, "TRAIN,CALIBRATION,TEST fractions")->capture_default_str();
        sub.add_option("--seed", o->seed, "Seed of splits, sampling and bootstrap")->capture_default_str();
        sub.add_option("--limit", o->limit, "Run at most N cases (the first N, or a stratified sample)");
        sub.add_flag("--stratify", o->stratify, "With --limit: keep each label's share of the cases");
        sub.add_option("--results", o->results, "Per-case JSONL results; a rerun resumes from it");
        sub.add_option("--resamples", o->resamples, "Bootstrap resamples for the intervals")->capture_default_str();
        sub.add_flag("--json", o->json, "Print the report as JSON");
        sub.add_option("--html", o->html, "Write a self-contained HTML report (tables, charts) to FILE");
        sub.add_flag("-q,--quiet", o->quiet, "No progress on stderr");
        sub.add_option("--calibrate", o->calibrate,
                       "Calibrate the cascade route ROUTE of --config: run its small and large steps on the "
                       "calibration and test splits, choose the small step's threshold, check it on the test split");
        sub.add_option("--objective", o->objective,
                       "With --calibrate: escalation=R, accuracy=A or within=POINTS (default escalation=5%)");
        sub.add_option("--target-escalation", o->target_escalation, "With --calibrate: escalate at most R (e.g. 5%)");
        sub.add_option("--target-accuracy", o->target_accuracy, "With --calibrate: the cheapest threshold reaching A");
        sub.add_option("--within", o->within,
                       "With --calibrate: the cheapest threshold within POINTS of the large step alone");
        sub.add_option("--signal", o->signal,
                       "With --calibrate: label_prob, margin, mean_logprob or min_logprob (default: the route's)");
        sub.add_option("--traffic", o->traffic,
                       "With --calibrate: project the monthly cost at N requests/day (all-API, all-SLM, the cascade)");
        sub.add_option("--machine-usd-per-hour", o->machine_usd_per_hour,
                       "With --traffic: USD per hour of a machine running the small step (default: the model's "
                       "price_per_hour_usd)");
        sub.add_option("--peak-factor", o->peak_factor, "With --traffic: peak load / mean load")->capture_default_str();
        sub.add_option("--prefill-tps", o->prefill_tps,
                       "With --traffic: the small step's prompt tokens/s under load (default: from its measured latency)");
        sub.add_option("--decode-tps", o->decode_tps, "With --traffic: the small step's generated tokens/s under load");
        sub.add_flag("--write-config", o->write_config,
                     "With --calibrate: write the chosen threshold into the route's first step in --config");
        sub.footer(fmt::format("Default template: {}\nSee docs/eval.md.", kDefaultTemplate));
        return [o] { return run(*o); };  // by value: --calibrate fills in the route's labels
    },
}};

}  // namespace
}  // namespace kinglet::cli
