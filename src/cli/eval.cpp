// kinglet eval: measure a local GGUF model on a labelled dataset with generation constrained to the
// declared labels; per-case results go to a JSONL file a rerun resumes from.
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "chat/template.h"
#include "cli/command.h"
#include "cli/model_args.h"
#include "core/error.h"
#include "eval/dataset.h"
#include "eval/html_report.h"
#include "eval/json_grader.h"
#include "eval/local_classifier.h"
#include "eval/metrics.h"
#include "eval/summary.h"

namespace kinglet::cli {
namespace {

using nlohmann::ordered_json;

const char* kDefaultTemplate = "{{ input }}\nAnswer ({{ labels | join(', ') }}):";

struct Options {
    ModelArgs model;
    std::string data, format, labels, template_text, template_file, results, html, split = "all",
                                                                             fractions = "0,0.5,0.5";
    eval::FieldMap fields;
    uint64_t seed = 1;
    size_t limit = 0;
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

// The run's identity: a results file written under other settings is refused, not mixed in.
ordered_json run_header(const Options& o, const std::vector<std::string>& labels, const std::string& tpl) {
    ordered_json h = {{"kinglet_eval", 1},   {"model", o.model.path},  {"data", o.data}, {"labels", labels},
                      {"template", tpl},    {"split", o.split},       {"fractions", o.fractions},
                      {"seed", o.seed},     {"limit", o.limit},       {"stratify", o.stratify}};
    if (labels.empty())
        h.update({{"grader", o.grader}, {"ignore_case", o.ignore_case}, {"max_tokens", o.max_tokens}, {"stop", o.stop}});
    return h;
}

eval::TextRecord text_record_from_json(const ordered_json& j) {
    eval::TextRecord r;
    r.correct = j.at("correct");
    r.valid = j.value("json_valid", true);
    r.fields = j.value("fields", 0);
    r.fields_correct = j.value("fields_correct", 0);
    r.mean_logprob = j.at("mean_logprob");
    r.min_logprob = j.at("min_logprob");
    r.prompt_tokens = j.value("prompt_tokens", 0);
    r.completion_tokens = j.value("completion_tokens", 0);
    r.latency_ms = j.value("latency_ms", 0.0);
    return r;
}

eval::CaseRecord record_from_json(const ordered_json& j, const std::unordered_map<std::string, int>& index) {
    eval::CaseRecord r;
    r.expected = index.at(j.at("expected").get<std::string>());
    const auto& p = j.at("predicted");
    r.predicted = p.is_string() && index.count(p.get<std::string>()) ? index.at(p.get<std::string>()) : -1;
    r.label_prob = j.at("label_prob");
    r.margin = j.at("margin");
    r.mean_logprob = j.at("mean_logprob");
    r.min_logprob = j.at("min_logprob");
    r.prompt_tokens = j.value("prompt_tokens", 0);
    r.completion_tokens = j.value("completion_tokens", 0);
    r.latency_ms = j.value("latency_ms", 0.0);
    return r;
}

int run(const Options& o) {
    const auto labels = split_list(o.labels);
    const bool classify = !labels.empty();
    if (!classify && o.grader != "exact" && o.grader != "contains" && o.grader != "regex" && o.grader != "json")
        fail(Errc::invalid_argument, "--grader must be exact, contains, regex or json (is '{}')", o.grader);
    if (o.max_tokens < 1) fail(Errc::invalid_argument, "--max-tokens must be at least 1");
    std::unordered_map<std::string, int> index;
    for (size_t i = 0; i < labels.size(); ++i) index[labels[i]] = int(i);
    const std::string tpl_src = !o.template_file.empty() ? slurp(o.template_file)
                                : !o.template_text.empty() ? o.template_text
                                : classify                 ? std::string(kDefaultTemplate)
                                                           : std::string("{{ input }}");
    const chat::ChatTemplate tpl(tpl_src);
    const auto spec = parse_fractions(o.fractions, o.seed);
    std::optional<eval::Split> only;
    if (o.split == "train") only = eval::Split::train;
    else if (o.split == "calibration") only = eval::Split::calibration;
    else if (o.split == "test") only = eval::Split::test;
    else if (o.split != "all") fail(Errc::invalid_argument, "--split must be all, train, calibration or test");
    std::optional<eval::Format> format;
    if (o.format == "csv") format = eval::Format::csv;
    else if (o.format == "jsonl") format = eval::Format::jsonl;
    else if (!o.format.empty()) fail(Errc::invalid_argument, "--format must be jsonl or csv");
    auto keep = [&](const eval::Case& c) { return !only || eval::assign_split(c.id, spec) == *only; };

    std::optional<std::unordered_set<uint64_t>> chosen;
    if (o.stratify) {
        if (o.limit == 0) fail(Errc::invalid_argument, "--stratify needs --limit N");
        chosen = eval::stratified_sample(o.data, o.fields, format, o.limit, o.seed, keep);
    }

    // Resume: the results file's header must match; cases it already holds are not run again.
    const ordered_json header = run_header(o, labels, tpl_src);
    std::vector<eval::CaseRecord> records;
    std::vector<eval::TextRecord> text_records;
    std::unordered_set<std::string> done;
    std::ofstream out;
    if (!o.results.empty()) {
        std::ifstream prev(o.results);
        std::string line;
        bool have_header = false;
        size_t n = 0;
        while (std::getline(prev, line)) {
            ++n;
            if (line.empty()) continue;
            ordered_json j;
            try {
                j = ordered_json::parse(line);
            } catch (const std::exception&) {
                // A line cut by an interruption: everything before it counts, it is rewritten.
                fmt::print(stderr, "kinglet: {}:{}: incomplete line ignored (interrupted run)\n", o.results, n);
                continue;
            }
            if (!have_header) {
                if (j != header)
                    fail(Errc::invalid_argument,
                         "{}: written by a run with other settings (model, data, labels, template, split, "
                         "seed or limit); use another --results file",
                         o.results);
                have_header = true;
                continue;
            }
            if (!done.insert(j.at("id").get<std::string>()).second) continue;
            if (classify) records.push_back(record_from_json(j, index));
            else text_records.push_back(text_record_from_json(j));
        }
        prev.close();
        // Rewrite without a torn last line, then append.
        std::vector<std::string> keep_lines;
        {
            std::ifstream again(o.results);
            while (std::getline(again, line)) {
                if (ordered_json::accept(line)) keep_lines.push_back(line);
            }
        }
        out.open(o.results, std::ios::trunc);
        if (!out) fail(Errc::io, "{}: cannot write results", o.results);
        if (keep_lines.empty()) out << header.dump() << '\n';
        for (const auto& l : keep_lines) out << l << '\n';
        out.flush();
        if (!done.empty() && !o.quiet)
            fmt::print(stderr, "kinglet: resuming: {} cases already in {}\n", done.size(), o.results);
    }

    auto model = o.model.load(o.quiet || o.json);
    EngineOptions eo = o.model.engine_options(classify ? int(labels.size()) + 1 : 1);
    Engine engine(model, model->tokenizer(), eo);
    std::optional<eval::LocalClassifier> cls;
    if (classify) cls.emplace(engine, labels);
    std::optional<eval::RegexGrader> regex;

    eval::DatasetReader reader(o.data, o.fields, format);
    eval::Case c;
    size_t taken = done.size(), ran = 0, unknown_label = 0;
    const auto t0 = std::chrono::steady_clock::now();
    const bool tty = isatty(STDERR_FILENO);
    auto progress = [&] {
        if (o.quiet || !(tty || ran % 100 == 0)) return;
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const double rate = secs > 0 ? double(ran) / secs : 0;
        std::string eta;
        if (o.limit && rate > 0) eta = fmt::format(", ETA {:.0f} s", double(o.limit - std::min(o.limit, taken)) / rate);
        fmt::print(stderr, "{}kinglet: {} cases ({:.1f}/s{}){}", tty ? "\r" : "", taken, rate, eta, tty ? "" : "\n");
    };
    while (reader.next(c)) {
        if (!keep(c)) continue;
        if (chosen && !chosen->count(c.line)) continue;
        if (!chosen && o.limit && taken >= o.limit) break;
        if (done.count(c.id)) continue;
        if (!classify) {
            ordered_json ctx = c.row;
            ctx["input"] = c.input;
            if (c.messages.is_array()) ctx["messages"] = c.messages;
            Request q;
            q.prompt = engine.tokenizer().encode(tpl.render(ctx), true, true);
            q.max_tokens = o.max_tokens;
            q.stop = o.stop;
            q.logprobs = 0;
            const Completion done_c = engine.generate(std::move(q));
            eval::TextRecord rec;
            ordered_json extra = ordered_json::object();
            if (o.grader == "json") {
                if (!c.expected.is_object()) {
                    fmt::print(stderr, "kinglet: {}:{}: --grader json needs an expected JSON object; case skipped\n",
                               o.data, c.line);
                    continue;
                }
                const auto g = eval::grade_json(done_c.text, c.expected);
                rec.correct = g.correct;
                rec.valid = g.valid;
                rec.fields = g.fields;
                rec.fields_correct = g.fields_correct;
                extra = {{"json_valid", g.valid}, {"fields", g.fields}, {"fields_correct", g.fields_correct}};
            } else {
                if (!c.expected.is_string()) {
                    fmt::print(stderr, "kinglet: {}:{}: the expected output must be text for --grader {}; case skipped\n",
                               o.data, c.line, o.grader);
                    continue;
                }
                const std::string ref = c.expected.get<std::string>();
                if (o.grader == "exact") rec.correct = eval::grade_exact(done_c.text, ref, o.ignore_case);
                else if (o.grader == "contains") rec.correct = eval::grade_contains(done_c.text, ref, o.ignore_case);
                else rec.correct = eval::RegexGrader(o.ignore_case ? "(?i)" + ref : ref)(done_c.text);
            }
            double sum = 0, mn = 0;
            for (size_t i = 0; i < done_c.token_info.size(); ++i) {
                sum += done_c.token_info[i].logprob;
                mn = i == 0 ? double(done_c.token_info[i].logprob) : std::min(mn, double(done_c.token_info[i].logprob));
            }
            rec.mean_logprob = done_c.token_info.empty() ? 0 : sum / double(done_c.token_info.size());
            rec.min_logprob = mn;
            rec.prompt_tokens = int(done_c.prompt_tokens.size());
            rec.completion_tokens = int(done_c.tokens.size());
            rec.latency_ms = done_c.total_ms;
            text_records.push_back(rec);
            done.insert(c.id);
            ++taken;
            ++ran;
            if (out.is_open()) {
                ordered_json j = {{"id", c.id},
                                  {"line", c.line},
                                  {"split", eval::split_name(eval::assign_split(c.id, spec))},
                                  {"expected", c.expected},
                                  {"prediction", done_c.text},
                                  {"correct", rec.correct},
                                  {"finish", finish_reason_name(done_c.finish)},
                                  {"mean_logprob", rec.mean_logprob},
                                  {"min_logprob", rec.min_logprob},
                                  {"prompt_tokens", rec.prompt_tokens},
                                  {"completion_tokens", rec.completion_tokens},
                                  {"latency_ms", rec.latency_ms}};
                j.update(extra);
                out << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
                out.flush();
            }
            progress();
            continue;
        }
        const std::string expected = c.expected.is_string() ? c.expected.get<std::string>() : c.expected.dump();
        if (!index.count(expected)) {
            ++unknown_label;
            fmt::print(stderr, "kinglet: {}:{}: expected label '{}' is not one of --labels; case skipped\n", o.data,
                       c.line, expected);
            continue;
        }
        ordered_json ctx = c.row;
        ctx["input"] = c.input;
        if (c.messages.is_array()) ctx["messages"] = c.messages;
        ctx["labels"] = labels;
        const std::string prompt = tpl.render(ctx);
        const auto r = cls->classify(prompt);
        eval::CaseRecord rec;
        rec.expected = index.at(expected);
        rec.predicted = r.predicted;
        rec.label_prob = r.scores.prob[size_t(r.predicted)];
        rec.margin = r.scores.margin;
        rec.mean_logprob = r.scores.mean_token_logprob;
        rec.min_logprob = r.scores.min_token_logprob;
        rec.prompt_tokens = r.prompt_tokens;
        rec.completion_tokens = r.completion_tokens;
        rec.latency_ms = r.latency_ms;
        records.push_back(rec);
        done.insert(c.id);
        ++taken;
        ++ran;
        if (out.is_open()) {
            ordered_json probs;
            for (size_t i = 0; i < labels.size(); ++i) probs[labels[i]] = r.scores.prob[i];
            ordered_json j = {{"id", c.id},
                              {"line", c.line},
                              {"split", eval::split_name(eval::assign_split(c.id, spec))},
                              {"expected", expected},
                              {"predicted", labels[size_t(r.predicted)]},
                              {"correct", rec.predicted == rec.expected},
                              {"generated", r.generated >= 0 ? ordered_json(labels[size_t(r.generated)]) : ordered_json()},
                              {"label_prob", rec.label_prob},
                              {"margin", rec.margin},
                              {"mean_logprob", rec.mean_logprob},
                              {"min_logprob", rec.min_logprob},
                              {"probs", probs},
                              {"prompt_tokens", rec.prompt_tokens},
                              {"completion_tokens", rec.completion_tokens},
                              {"latency_ms", rec.latency_ms}};
            out << j.dump() << '\n';
            out.flush();  // a killed run loses at most the case in flight
        }
        progress();
    }
    if (!o.quiet && tty && ran) fmt::print(stderr, "\n");
    for (const auto& b : reader.bad_rows()) fmt::print(stderr, "kinglet: {}:{}: bad row: {}\n", o.data, b.line, b.message);
    if (reader.bad_count() > reader.bad_rows().size())
        fmt::print(stderr, "kinglet: ... {} bad rows in all\n", reader.bad_count());

    eval::BootstrapOptions bo;
    bo.resamples = o.resamples;
    bo.seed = o.seed;
    ordered_json summary = classify ? eval::classification_summary(labels, records, bo)
                                    : eval::text_summary(text_records, o.grader == "json", bo);
    summary["bad_rows"] = reader.bad_count();
    summary["unknown_label_rows"] = unknown_label;
    if (!o.html.empty()) {
        const ordered_json target = {{"name", std::filesystem::path(o.model.path).filename().string()},
                                     {"spec", "local:" + o.model.path},
                                     {"summary", summary}};
        eval::write_html_report(o.html, {{"data", o.data}, {"split", o.split}, {"targets", ordered_json::array({target})}});
    }
    if (o.json) {
        summary = ordered_json{{"model", o.model.path}, {"data", o.data}, {"labels", labels}, {"summary", summary}};
        fmt::print("{}\n", summary.dump(2));
    } else {
        fmt::print("{}", eval::format_summary(summary));
        if (reader.bad_count()) fmt::print("\n{} bad rows (listed on stderr)\n", reader.bad_count());
    }
    return 0;
}

const Registrar registrar{Command{
    "eval",
    "Measure a model on a labelled dataset (classification with declared labels)",
    [](CLI::App& sub) {
        auto o = std::make_shared<Options>();
        o->model.add(sub);
        sub.add_option("-d,--data", o->data, "Dataset: JSONL or CSV file of cases")->required();
        sub.add_option("--labels", o->labels,
                       "Comma-separated labels: a classification task, generation constrained to them");
        sub.add_option("--grader", o->grader, "Without --labels: exact, contains, regex (the expected field is the "
                                              "pattern) or json (field-by-field against an expected object)")
            ->capture_default_str();
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
        sub.add_option("--split", o->split, "Cases to run: all, train, calibration or test")->capture_default_str();
        sub.add_option("--split-fractions", o->fractions, "TRAIN,CALIBRATION,TEST fractions")->capture_default_str();
        sub.add_option("--seed", o->seed, "Seed of splits, sampling and bootstrap")->capture_default_str();
        sub.add_option("--limit", o->limit, "Run at most N cases (the first N, or a stratified sample)");
        sub.add_flag("--stratify", o->stratify, "With --limit: keep each label's share of the cases");
        sub.add_option("--results", o->results, "Per-case JSONL results; a rerun resumes from it");
        sub.add_option("--resamples", o->resamples, "Bootstrap resamples for the intervals")->capture_default_str();
        sub.add_flag("--json", o->json, "Print the summary as JSON");
        sub.add_option("--html", o->html, "Write a self-contained HTML report (tables, charts) to FILE");
        sub.add_flag("-q,--quiet", o->quiet, "No progress on stderr");
        sub.footer(fmt::format("Default template: {}\nSee docs/eval.md.", kDefaultTemplate));
        return [o] { return run(*o); };
    },
}};

}  // namespace
}  // namespace kinglet::cli
