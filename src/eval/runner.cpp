#include "eval/runner.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <unordered_set>

#include "chat/template.h"
#include "core/error.h"
#include "eval/json_grader.h"
#include "eval/metrics.h"

namespace kinglet::eval {

using nlohmann::ordered_json;

namespace {

ordered_json num(double v) { return std::isfinite(v) ? ordered_json(v) : ordered_json(nullptr); }
double num_of(const ordered_json& j, const char* key) {
    if (!j.contains(key) || !j[key].is_number()) return std::nan("");
    return j[key].get<double>();
}

std::string key_of(const std::string& target, const std::string& id) { return target + '\x1f' + id; }

struct Graded {
    Answer answer;
    std::optional<Answer> judge;
};

// A progress bar with rate and ETA on stderr: redrawn in place on a terminal (at most every 100 ms), a
// plain line every 10% of the cases otherwise (logs and CI stay short); without a known total (a pipe),
// a line every 100 answers off a terminal.
class Progress {
public:
    Progress(bool enabled, uint64_t total) : on_(enabled), total_(total), tty_(isatty(STDERR_FILENO)) {}
    void tick() {
        ++done_;
        if (!on_) return;
        const auto now = std::chrono::steady_clock::now();
        const bool last = total_ && done_ >= total_;
        if (tty_) {
            if (!last && now - drawn_ < std::chrono::milliseconds(100)) return;
        } else if (total_ == 0 ? done_ % 100 != 0 : !last && done_ * 10 / total_ == (done_ - 1) * 10 / total_) {
            return;
        }
        drawn_ = now;
        const double secs = std::chrono::duration<double>(now - t0_).count();
        const double rate = secs > 0 ? double(done_) / secs : 0;
        std::string bar;
        if (total_) {
            const int w = 24, fill = int(double(w) * double(std::min(done_, total_)) / double(total_));
            bar = fmt::format("[{}{}] {}/{} ({:.0f}%)", std::string(size_t(fill), '#'), std::string(size_t(w - fill), '.'),
                              done_, total_, 100.0 * double(done_) / double(total_));
        } else {
            bar = fmt::format("{}", done_);
        }
        std::string eta;
        if (total_ && rate > 0 && done_ < total_) {
            const auto left = uint64_t(double(total_ - done_) / rate);
            eta = fmt::format("  ETA {}:{:02}:{:02}", left / 3600, left / 60 % 60, left % 60);
        }
        fmt::print(stderr, "{}kinglet eval: {}  {:.1f} answers/s{}{}", tty_ ? "\r\033[K" : "", bar, rate, eta,
                   tty_ ? "" : "\n");
    }
    void finish() {
        if (on_ && tty_ && done_) fmt::print(stderr, "\n");
    }

private:
    bool on_;
    uint64_t total_, done_ = 0;
    bool tty_;
    std::chrono::steady_clock::time_point t0_ = std::chrono::steady_clock::now(), drawn_{};
};

uint16_t intern(std::vector<std::string>& names, const std::string& name) {
    for (size_t i = 0; i < names.size(); ++i)
        if (names[i] == name) return uint16_t(i);
    if (names.size() > UINT16_MAX) fail(Errc::invalid_argument, "more than {} split or provider names", UINT16_MAX);
    names.push_back(name);
    return uint16_t(names.size() - 1);
}

// What the run keeps of a results row (the file keeps all of it).
CaseResult compact(const ordered_json& row, TargetRun& tr, const std::unordered_map<std::string, int>& index,
                   bool classify) {
    if (tr.names.empty()) tr.names.push_back("");
    CaseResult r;
    r.line = row.value("line", uint64_t(0));
    const std::string id = row.at("id").get<std::string>();
    r.id_offset = uint32_t(tr.ids.size());
    r.id_size = uint32_t(id.size());
    if (tr.ids.size() + id.size() > UINT32_MAX) fail(Errc::invalid_argument, "case ids longer than 4 GB in all");
    tr.ids += id;
    r.label_prob = num_of(row, "label_prob");
    r.margin = num_of(row, "margin");
    r.mean_logprob = num_of(row, "mean_logprob");
    r.min_logprob = num_of(row, "min_logprob");
    r.latency_ms = row.value("latency_ms", 0.0);
    r.cost_usd = num_of(row, "cost_usd");
    r.prompt_tokens = row.value("prompt_tokens", 0);
    r.completion_tokens = row.value("completion_tokens", 0);
    if (row.contains("judge")) {
        const auto& jd = row["judge"];
        r.judged = true;
        r.judge_prompt_tokens = jd.value("prompt_tokens", 0);
        r.judge_completion_tokens = jd.value("completion_tokens", 0);
        r.judge_cost_usd = num_of(jd, "cost_usd");
    }
    r.fields = row.value("fields", 0);
    r.fields_correct = row.value("fields_correct", 0);
    r.json_valid = row.value("json_valid", true);
    if (row.contains("schema_valid")) r.schema_valid = int8_t(row["schema_valid"].get<bool>());
    if (row.contains("escalated")) r.escalated = int8_t(row["escalated"].get<bool>());
    if (classify) {
        r.expected = index.at(row.at("expected").get<std::string>());
        const auto& p = row.at("predicted");
        r.predicted = p.is_string() && index.count(p.get<std::string>()) ? index.at(p.get<std::string>()) : -1;
    }
    r.split = intern(tr.names, row.value("split", ""));
    r.provider = intern(tr.names, row.value("provider", ""));
    r.correct = row.at("correct").get<bool>();
    r.failed = row.contains("error");
    return r;
}

// Reads an earlier run's rows; rewrites the file without torn lines and failed rows (through a
// temporary file, a line at a time); hands each kept row to `kept`, and leaves `out` appending to it.
void resume(const RunSettings& s, std::ofstream& out, const std::function<void(const ordered_json&)>& kept) {
    const std::string tmp = s.results + ".resume";
    {
        std::ifstream prev(s.results);
        std::ofstream next(tmp, std::ios::trunc);
        if (!next) fail(Errc::io, "{}: cannot write", tmp);
        std::string line;
        size_t n = 0;
        bool have_header = false;
        while (std::getline(prev, line)) {
            ++n;
            if (line.empty()) continue;
            ordered_json j = ordered_json::parse(line, nullptr, false);
            if (j.is_discarded()) {
                fmt::print(stderr, "kinglet: {}:{}: incomplete line dropped (interrupted run); redoing it\n", s.results, n);
                continue;
            }
            if (!have_header) {
                if (j != s.header) {
                    next.close();
                    std::remove(tmp.c_str());
                    fail(Errc::invalid_argument,
                         "{}: written by a run with other settings (targets, data, labels, template, grader, split, "
                         "seed or limit); use another --results file",
                         s.results);
                }
                have_header = true;
                next << line << '\n';
                continue;
            }
            if (j.contains("error")) continue;  // a failed request: asked again
            next << line << '\n';
            kept(j);
        }
        if (!have_header) next << s.header.dump() << '\n';
        if (!next.flush()) fail(Errc::io, "{}: cannot write", tmp);
    }
    std::error_code ec;
    std::filesystem::rename(tmp, s.results, ec);
    if (ec) fail(Errc::io, "{}: cannot replace with {}: {}", s.results, tmp, ec.message());
    out.open(s.results, std::ios::app);
    if (!out) fail(Errc::io, "{}: cannot write results", s.results);
}

}  // namespace

std::string judge_prompt(const std::string& rubric, const std::string& input, const ordered_json& expected,
                         const std::string& answer) {
    const std::string exp = expected.is_string() ? expected.get<std::string>() : expected.dump();
    if (rubric.find("{{") != std::string::npos) {
        const chat::ChatTemplate t(rubric);
        return t.render(ordered_json{{"input", input}, {"expected", exp}, {"answer", answer}});
    }
    return fmt::format("{}\n\nInput:\n{}\n\nReference answer:\n{}\n\nAnswer to grade:\n{}\n\nDoes the answer meet the "
                       "criteria? Reply with PASS or FAIL.",
                       rubric, input, exp, answer);
}

std::optional<bool> judge_verdict(const std::string& reply) {
    std::string up = reply;
    for (char& c : up)
        if (c >= 'a' && c <= 'z') c = char(c - 'a' + 'A');
    const auto p = up.find("PASS"), f = up.find("FAIL");
    if (p == std::string::npos && f == std::string::npos) return std::nullopt;
    return p < f;
}

RunOutcome run_cases(const std::vector<Target*>& targets, const RunSettings& s) {
    const bool classify = !s.task.labels.empty();
    const auto& labels = s.task.labels;
    std::unordered_map<std::string, int> index;
    for (size_t i = 0; i < labels.size(); ++i) index[labels[i]] = int(i);
    std::unordered_map<std::string, size_t> target_of;
    for (size_t t = 0; t < targets.size(); ++t) target_of[targets[t]->spec().name] = t;
    if (!classify && s.grader == "judge" && !s.judge) fail(Errc::invalid_argument, "--grader judge needs --judge TARGET");
    const chat::ChatTemplate tpl(s.template_source);

    RunOutcome res;
    res.targets.resize(targets.size());
    std::unordered_set<std::string> done;
    std::ofstream out;
    if (!s.results.empty()) {
        resume(s, out, [&](const ordered_json& row) {
            const auto it = target_of.find(row.value("target", ""));
            if (it == target_of.end()) return;
            if (!done.insert(key_of(it->first, row.at("id").get<std::string>())).second) return;
            auto& tr = res.targets[it->second];
            tr.rows.push_back(compact(row, tr, index, classify));
        });
        if (!done.empty() && !s.quiet)
            fmt::print(stderr, "kinglet: resuming: {} answers already in {}\n", done.size(), s.results);
    }

    auto keep = [&](const Case& c) {
        if (s.only.empty()) return true;
        return std::find(s.only.begin(), s.only.end(), assign_split(c.id, s.split)) != s.only.end();
    };
    std::optional<std::unordered_set<uint64_t>> chosen;
    if (s.stratify) {
        if (s.limit == 0) fail(Errc::invalid_argument, "--stratify needs --limit N");
        chosen = stratified_sample(s.data, s.fields, s.format, s.limit, s.split.seed, keep);
    }
    // The work still to do, for the progress bar (a cheap extra pass over the file). A pipe or a device
    // can be read once only: the bar then counts answers without a total or an ETA.
    uint64_t total = 0;
    std::error_code ec;
    if (!s.quiet && std::filesystem::is_regular_file(s.data, ec)) {
        DatasetReader r(s.data, s.fields, s.format);
        Case c;
        size_t taken = 0;
        while (r.next(c)) {
            if (!keep(c) || (chosen && !chosen->count(c.line))) continue;
            if (!chosen && s.limit && taken >= s.limit) break;
            ++taken;
            for (const auto* t : targets) total += !done.count(key_of(t->spec().name, c.id));
        }
    }
    Progress progress(!s.quiet, total);

    struct Job {
        size_t target;
        ordered_json row;  // the case part of the results row
        std::string input;
        ordered_json expected;
        std::future<Graded> fut;
    };
    std::deque<Job> window;
    const size_t jobs = size_t(std::max(1, s.jobs));

    auto grade = [&](Job& j, Graded&& g) {
        Answer& a = g.answer;
        ordered_json row = std::move(j.row);
        row["target"] = targets[j.target]->spec().name;
        bool correct = false;
        if (classify) {
            row["predicted"] = a.predicted >= 0 ? ordered_json(labels[size_t(a.predicted)]) : ordered_json(nullptr);
            correct = a.predicted >= 0 && labels[size_t(a.predicted)] == j.expected.get<std::string>();
            row["correct"] = correct;
            row["answer"] = a.text;
            if (a.generated >= 0) row["generated"] = labels[size_t(a.generated)];
        } else {
            row["prediction"] = a.text;
            if (s.grader == "json") {
                const auto gj = grade_json(a.text, j.expected);
                correct = gj.correct;
                row["correct"] = correct;
                row["json_valid"] = gj.valid;
                row["fields"] = gj.fields;
                row["fields_correct"] = gj.fields_correct;
                if (s.schema) {
                    const std::string v = gj.valid ? s.schema->violation(gj.parsed) : "$: no JSON object in the answer";
                    row["schema_valid"] = v.empty();
                    if (!v.empty()) row["schema_error"] = v;
                }
            } else if (s.grader == "judge") {
                std::optional<bool> v;
                if (g.judge) v = judge_verdict(g.judge->text);
                correct = v.value_or(false);
                row["correct"] = correct;
                ordered_json jd = {{"reply", g.judge ? g.judge->text : ""},
                                   {"verdict", v ? ordered_json(*v ? "PASS" : "FAIL") : ordered_json(nullptr)},
                                   {"prompt_tokens", g.judge ? g.judge->prompt_tokens : 0},
                                   {"completion_tokens", g.judge ? g.judge->completion_tokens : 0}};
                if (g.judge && !g.judge->error.empty()) jd["error"] = g.judge->error;
                row["judge"] = jd;
                if (g.judge && !g.judge->error.empty() && a.error.empty()) a.error = "judge: " + g.judge->error;
            } else {
                const std::string ref = j.expected.get<std::string>();
                if (s.grader == "exact") correct = grade_exact(a.text, ref, s.ignore_case);
                else if (s.grader == "contains") correct = grade_contains(a.text, ref, s.ignore_case);
                else correct = RegexGrader(s.ignore_case ? "(?i)" + ref : ref)(a.text);
                row["correct"] = correct;
            }
            row["finish"] = a.finish;
        }
        if (classify) {
            row["label_prob"] = num(a.label_prob);
            row["margin"] = num(a.margin);
        }
        row["mean_logprob"] = num(a.mean_logprob);
        row["min_logprob"] = num(a.min_logprob);
        if (!a.probs.empty()) {
            ordered_json probs;
            for (size_t i = 0; i < labels.size() && i < a.probs.size(); ++i) probs[labels[i]] = a.probs[i];
            row["probs"] = probs;
        }
        row["prompt_tokens"] = a.prompt_tokens;
        row["completion_tokens"] = a.completion_tokens;
        row["latency_ms"] = a.latency_ms;
        if (a.cost_usd) row["cost_usd"] = *a.cost_usd;
        if (!a.provider.empty()) row["provider"] = a.provider;
        if (a.escalated) row["escalated"] = *a.escalated;
        if (a.confidence) {
            row["confidence"] = num(*a.confidence);
            row["signal"] = a.signal;
        }
        if (!a.attempts.is_null()) row["attempts"] = a.attempts;
        if (g.judge && g.judge->cost_usd && row.contains("judge")) row["judge"]["cost_usd"] = *g.judge->cost_usd;
        if (!a.error.empty()) {
            row["error"] = a.error;
            ++res.failed;
            fmt::print(stderr, "kinglet: {}:{}: target {}: {}\n", s.data, row.value("line", uint64_t(0)),
                       targets[j.target]->spec().name, a.error);
        }
        if (out.is_open()) {
            out << row.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
            out.flush();  // a killed run loses at most the answers in flight
        }
        auto& tr = res.targets[j.target];
        tr.rows.push_back(compact(row, tr, index, classify));
        progress.tick();
    };
    auto drain_one = [&] {
        Job j = std::move(window.front());
        window.pop_front();
        grade(j, j.fut.get());
    };

    DatasetReader reader(s.data, s.fields, s.format);
    Case c;
    size_t taken = 0;
    while (reader.next(c)) {
        if (!keep(c) || (chosen && !chosen->count(c.line))) continue;
        if (!chosen && s.limit && taken >= s.limit) break;
        ++taken;
        bool pending = false;
        for (const auto* t : targets) pending = pending || !done.count(key_of(t->spec().name, c.id));
        if (!pending) continue;
        ordered_json expected = c.expected;
        if (classify) {
            const std::string e = c.expected.is_string() ? c.expected.get<std::string>() : c.expected.dump();
            if (!index.count(e)) {
                ++res.unknown_label_rows;
                fmt::print(stderr, "kinglet: {}:{}: expected label '{}' is not one of --labels; case skipped\n",
                           s.data, c.line, e);
                continue;
            }
            expected = e;
        } else if (s.grader == "json" ? !c.expected.is_object() : !c.expected.is_string()) {
            ++res.skipped_rows;
            fmt::print(stderr, "kinglet: {}:{}: {}; case skipped\n", s.data, c.line,
                       s.grader == "json" ? "--grader json needs an expected JSON object"
                                          : "the expected output must be text for --grader " + s.grader);
            continue;
        }
        ordered_json ctx = c.row;
        ctx["input"] = c.input;
        if (c.messages.is_array()) ctx["messages"] = c.messages;
        if (classify) ctx["labels"] = labels;
        CaseInput in{tpl.render(ctx), c.messages};
        const ordered_json base = {{"id", c.id},
                                   {"line", c.line},
                                   {"split", split_name(assign_split(c.id, s.split))},
                                   {"expected", expected}};
        for (size_t t = 0; t < targets.size(); ++t) {
            if (done.count(key_of(targets[t]->spec().name, c.id))) continue;
            while (window.size() >= jobs) drain_one();
            std::future<Answer> fa = targets[t]->start(in);
            std::future<Graded> fg;
            if (s.grader == "judge" && !classify) {
                // The judge reads the answer, then grades it; off the issuing thread so -j overlaps both.
                fg = std::async(std::launch::async, [fa = std::move(fa), &s, input = c.input.empty() ? in.prompt : c.input,
                                                     expected]() mutable {
                    Graded g{fa.get(), std::nullopt};
                    if (g.answer.error.empty())
                        g.judge = s.judge->start({judge_prompt(s.rubric, input, expected, g.answer.text), nullptr}).get();
                    return g;
                });
            } else {
                fg = std::async(std::launch::deferred, [fa = std::move(fa)]() mutable { return Graded{fa.get(), std::nullopt}; });
            }
            window.push_back({t, base, c.input, expected, std::move(fg)});
        }
    }
    while (!window.empty()) drain_one();
    progress.finish();
    for (const auto& b : reader.bad_rows()) fmt::print(stderr, "kinglet: {}:{}: bad row: {}\n", s.data, b.line, b.message);
    if (reader.bad_count() > reader.bad_rows().size())
        fmt::print(stderr, "kinglet: ... {} bad rows in all\n", reader.bad_count());
    res.bad_rows = reader.bad_count();

    // Records in dataset order, whatever mix of earlier and fresh rows they came from.
    for (auto& tr : res.targets) {
        std::stable_sort(tr.rows.begin(), tr.rows.end(),
                         [](const CaseResult& a, const CaseResult& b) { return a.line < b.line; });
        for (const auto& row : tr.rows) {
            if (row.judged) {
                tr.judge_prompt_tokens += row.judge_prompt_tokens;
                tr.judge_completion_tokens += row.judge_completion_tokens;
            }
        }
    }
    return res;
}

}  // namespace kinglet::eval
