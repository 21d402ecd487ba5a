// /v1/chat/completions and /v1/completions: start one generation per choice, then answer whole or
// stream server-sent events as deltas arrive.
#include <httplib.h>

#include <ctime>

#include "core/log.h"
#include "server/api_error.h"
#include "server/connection.h"
#include "server/generation_job.h"
#include "server/http_server.h"
#include "server/openai_response.h"
#include "server/accounting.h"

namespace kinglet::server {

using nlohmann::json;
using router::Finish;

namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(50);

struct Plan {
    bool chat = true;
    std::vector<router::GenerationRequest> gens;  // one per choice
    std::vector<size_t> prompt_of;                // the prompt each choice continues
    std::vector<std::string> echo;                // text put before each choice's answer (completions echo)
    bool stream = false, include_usage = false, logprobs = false;
};

// Counts tokens and latencies of finished choices; a prompt is counted once however many choices it has.
Usage account(Metrics& metrics, const std::string& model, const Plan& plan,
              const std::vector<std::optional<router::GenerationResult>>& results) {
    Usage u;
    std::vector<bool> counted;
    for (size_t i = 0; i < results.size(); ++i) {
        if (!results[i]) continue;
        const auto& r = *results[i];
        const size_t p = plan.prompt_of[i];
        if (counted.size() <= p) counted.resize(p + 1, false);
        if (!counted[p]) {
            counted[p] = true;
            u.prompt_tokens += r.prompt_tokens;
            u.cached_tokens += r.cached_prompt_tokens;
        }
        u.completion_tokens += r.completion_tokens;
        if (r.completion_tokens > 0) metrics.observe_ttft(model, r.ttft_ms / 1000.0);
        if (r.completion_tokens > 1)
            metrics.observe_token_latency(model, (r.total_ms - r.ttft_ms) / 1000.0 / (r.completion_tokens - 1));
        if (r.finish == Finish::timeout) metrics.count_cancel(model, "timeout");
        else if (r.finish == Finish::cancelled) metrics.count_cancel(model, "cancelled");
    }
    metrics.add_tokens(model, u.prompt_tokens, u.completion_tokens, u.cached_tokens);
    return u;
}

// The error a choice that did not finish normally turns the response into.
std::optional<ApiError> failure(const router::GenerationResult& r) {
    switch (r.finish) {
        case Finish::stop:
        case Finish::length: return std::nullopt;
        case Finish::timeout:
            return ApiError(504, fmt::format("The request timed out after generating {} tokens.", r.completion_tokens),
                            {}, "timeout");
        case Finish::cancelled:
            return ApiError(503, r.error.empty() ? "The request was cancelled." : r.error, {}, "cancelled")
                .with_retry_after(1);
        case Finish::error: {
            const std::string msg = r.error.empty() ? "generation failed" : r.error;
            int status = r.http_status;
            if (status == 0) {
                switch (r.error_code) {
                    case Errc::invalid_argument:
                    case Errc::unsupported: status = 400; break;
                    case Errc::overloaded: status = 429; break;
                    default: status = 500;
                }
            }
            bool budget = false;
            for (const auto& a : r.trace.attempts) budget |= a.outcome == "budget_declined";
            if (status == 429 && budget) return ApiError(429, msg, {}, "budget_exceeded");
            if (status == 429) return ApiError(429, msg, {}, "overloaded").with_retry_after(1);
            if (status == 502) return ApiError(502, msg, {}, "upstream_error");
            if (status == 504) return ApiError(504, msg, {}, "timeout");
            if (status < 500) return ApiError(status, msg);
            return ApiError(status, msg, {}, "internal_error");
        }
    }
    return std::nullopt;
}

// How a request was served, for headers, metrics and the ledger (choice 0 decides provider and
// confidence; costs add up over choices).
struct Served {
    std::string provider;
    bool escalated = false, budget_limited = false;
    std::optional<double> confidence;
    double cost_usd = 0;
};

Served served_from(const router::RouteTrace& t) {
    Served s;
    s.provider = t.provider;
    s.escalated = t.escalated;
    s.budget_limited = t.budget_limited;
    s.confidence = t.confidence;
    s.cost_usd = t.cost_usd();
    return s;
}

void set_route_headers(httplib::Response& res, const std::string& route, const Served& s, bool with_cost) {
    res.set_header("x-kinglet-route", route);
    if (!s.provider.empty()) res.set_header("x-kinglet-provider", s.provider);
    res.set_header("x-kinglet-escalated", s.escalated ? "true" : "false");
    if (s.confidence) res.set_header("x-kinglet-confidence", fmt::format("{:.6g}", *s.confidence));
    if (s.budget_limited) res.set_header("x-kinglet-budget-limited", "true");
    if (with_cost) res.set_header("x-kinglet-cost-usd", fmt::format("{:.10f}", s.cost_usd));
}

nlohmann::ordered_json served_json(const std::string& route, const Served& s) {
    nlohmann::ordered_json j = {{"route", route},
                        {"provider", s.provider},
                        {"escalated", s.escalated},
                        {"cost_usd", s.cost_usd}};
    if (s.confidence) j["confidence"] = *s.confidence;
    if (s.budget_limited) j["budget_limited"] = true;
    return j;
}

// Everything a request leaves behind once its answer is decided: the ledger record (appended
// before the final bytes go out), routing metrics. Returns what headers report.
struct RequestFacts {
    std::string id, route, endpoint, key_id;
    const Tenant* tenant = nullptr;
    int64_t time_ms = 0;
    std::chrono::steady_clock::time_point start;
    std::optional<std::chrono::steady_clock::time_point> first_byte;
};

Served finish_request(Metrics& metrics, Accounting& acct, const RequestFacts& f,
                      const std::vector<std::optional<router::GenerationResult>>& results, const Usage& u, int status) {
    RecordInput in;
    in.id = f.id;
    in.time_ms = f.time_ms;
    in.tenant = f.tenant ? f.tenant->name : "";
    in.key_id = f.key_id;
    in.route = f.route;
    in.endpoint = f.endpoint;
    std::string finish;
    for (const auto& r : results)
        if (r) {
            in.results.push_back(&*r);
            if (finish.empty()) finish = router::finish_name(r->finish);
        }
    in.prompt_tokens = u.prompt_tokens;
    in.completion_tokens = u.completion_tokens;
    const auto now = std::chrono::steady_clock::now();
    in.latency_ms = std::chrono::duration<double, std::milli>(now - f.start).count();
    in.ttft_ms = std::chrono::duration<double, std::milli>(f.first_byte.value_or(now) - f.start).count();
    in.status = status;
    in.finish_reason = finish;
    ledger::Record rec = make_record(in);
    if (!acct.record(rec)) metrics.count_ledger_error();
    for (const auto& a : rec.attempts) {
        metrics.count_attempt(a.provider, a.outcome);
        metrics.add_spend(a.provider, a.cost_usd);
    }
    Served s;
    if (!in.results.empty()) s = served_from(in.results[0]->trace);
    s.cost_usd = rec.cost_usd;
    s.escalated = rec.escalated;
    s.budget_limited = rec.budget_limited;
    if (status >= 400) s.provider.clear();
    metrics.count_routed(f.route, s.provider, s.escalated, s.budget_limited);
    return s;
}

std::string sse(const nlohmann::ordered_json& j) { return "data: " + dump_json(j) + "\n\n"; }

// The streaming state a response's content provider owns.
struct Stream {
    std::shared_ptr<Job> job;
    Plan plan;
    ResponseMeta meta;
    Metrics* metrics = nullptr;
    Accounting* acct = nullptr;
    RequestFacts facts;
    std::vector<JobEvent> prefetched;  // taken before the headers were decided
    std::shared_ptr<void> in_flight;  // released with the response
    std::vector<size_t> offset;       // completions: text_offset of each choice's next token
    bool started = false, finished = false, recorded = false;
    std::optional<ApiError> error;

    // Appends the ledger record once, before the last bytes.
    Served record(const Usage& u, int status) {
        recorded = true;
        return finish_request(*metrics, *acct, facts, job->results(), u, status);
    }

    std::string start_chunks() {
        std::string out;
        for (size_t i = 0; i < plan.gens.size(); ++i) {
            if (plan.chat) {
                const std::string empty;
                out += sse(chat_chunk_json(meta, int(i), &empty, true, nullptr, std::nullopt, plan.include_usage));
            } else if (!plan.echo[i].empty()) {
                out += sse(text_chunk_json(meta, int(i), plan.echo[i], nullptr, 0, std::nullopt, plan.include_usage));
            }
        }
        return out;
    }

    std::string event_chunk(JobEvent& e) {
        const int i = e.choice;
        if (e.done) {
            const auto& r = *job->results()[size_t(i)];
            if (auto err = failure(r)) {
                if (!error) error = err;
                job->cancel();  // one failed choice fails the response
                return {};
            }
            if (plan.chat) return sse(chat_chunk_json(meta, i, nullptr, false, nullptr, r.finish, plan.include_usage));
            return sse(text_chunk_json(meta, i, "", nullptr, 0, r.finish, plan.include_usage));
        }
        if (e.text.empty() && e.logprobs.empty()) return {};
        const auto* lp = plan.logprobs ? &e.logprobs : nullptr;
        if (plan.chat) return sse(chat_chunk_json(meta, i, &e.text, false, lp, std::nullopt, plan.include_usage));
        std::string s = sse(text_chunk_json(meta, i, e.text, lp, offset[size_t(i)], std::nullopt, plan.include_usage));
        for (const auto& t : e.logprobs) offset[size_t(i)] += code_points(t.token);
        return s;
    }

    std::string end_chunks() {
        std::string out;
        Usage u = account(*metrics, meta.model, plan, job->results());
        const Served served = record(u, error ? error->status() : 200);
        if (error) out += sse(error->body());
        else if (plan.include_usage) {
            nlohmann::ordered_json chunk = usage_chunk_json(meta, plan.chat ? "chat.completion.chunk" : "text_completion", u);
            chunk["kinglet"] = served_json(meta.model, served);
            out += sse(chunk);
        }
        out += "data: [DONE]\n\n";
        return out;
    }

    // One turn of cpp-httplib's chunked-content loop: wait briefly for deltas and write them. Returning
    // regularly lets the loop check that the client is still connected.
    bool step(httplib::DataSink& sink) {
        std::string out;
        if (!started) {
            started = true;
            out = start_chunks();
        }
        std::vector<JobEvent> events = std::move(prefetched);
        prefetched.clear();
        const bool all_done = job->wait(events, events.empty() ? kPollInterval : std::chrono::milliseconds(0));
        if (!facts.first_byte) facts.first_byte = std::chrono::steady_clock::now();
        for (auto& e : events) out += event_chunk(e);
        if (all_done) out += end_chunks();
        if (!out.empty() && !sink.write(out.data(), out.size())) {
            job->cancel();  // the client went away
            return false;
        }
        if (all_done) {
            finished = true;
            sink.done();
        }
        return true;
    }
};

struct InFlight {
    explicit InFlight(std::atomic<int>& n) : n_(n) { n_++; }
    ~InFlight() { n_--; }
    std::atomic<int>& n_;
};

}  // namespace

namespace detail {

// Shared by both endpoints.
void run_plan(HttpServer& server, Metrics& metrics, std::atomic<int>& in_flight, const httplib::Request& req,
              httplib::Response& res, const std::shared_ptr<router::Provider>& provider, const std::string& model,
              Plan plan, std::chrono::steady_clock::time_point deadline, const std::string& caller) {
    Accounting& acct = server.accounting();
    RequestFacts facts;
    facts.route = model;
    facts.endpoint = plan.chat ? "chat" : "completions";
    facts.key_id = caller;
    facts.tenant = acct.tenant_of_key(HttpServer::request_key());
    facts.start = HttpServer::request_start();
    facts.time_ms = HttpServer::request_start_ms();
    if (facts.time_ms == 0) {
        facts.start = std::chrono::steady_clock::now();
        facts.time_ms = Accounting::now_ms();
    }
    auto guard = std::make_shared<InFlight>(in_flight);
    auto job = std::make_shared<Job>(plan.gens.size());
    // A non-streaming answer is awaited on this thread; with one choice, a remote call can run right here
    // (GenerationCallbacks::inline_thread), watching the client as wait_all below does.
    std::shared_ptr<ConnectionWatch> watch;
    if (!plan.stream) watch = std::make_shared<ConnectionWatch>(req.local_addr, req.local_port, req.remote_addr, req.remote_port);
    const bool wait_here = !plan.stream && plan.gens.size() == 1;
    try {
        for (size_t i = 0; i < plan.gens.size(); ++i) {
            router::GenerationRequest g = plan.gens[i];
            g.deadline = deadline;
            g.caller = caller;
            acct.prepare(g, facts.tenant);
            router::GenerationCallbacks cb = job->callbacks(int(i), plan.stream);
            if (wait_here) {
                cb.inline_thread = std::this_thread::get_id();
                // Weak: the callbacks are kept by the generation, which the job keeps.
                cb.keep_going = [watch, w = std::weak_ptr<Job>(job)] {
                    if (!watch->closed()) return true;
                    if (auto j = w.lock()) j->cancel();  // as wait_all does: answered 499, not an error
                    return false;
                };
            }
            job->add(provider->start(std::move(g), std::move(cb)));
        }
    } catch (...) {
        job->cancel();
        job->abandon_unstarted();
        throw;
    }
    ResponseMeta meta{new_response_id(plan.chat ? "chatcmpl-" : "cmpl-"), model, int64_t(std::time(nullptr))};
    facts.id = meta.id;
    const bool reject_over_budget = facts.tenant && facts.tenant->reject_over_budget;
    const ApiError budget_error(429, "This API key's tenant has spent its monthly remote budget; the request needed a "
                                     "remote model.", {}, "budget_exceeded");

    if (!plan.stream) {
        job->wait_all([&] { return !watch->closed(); }, kPollInterval * 2);
        auto& results = job->results();
        const Usage u = account(metrics, model, plan, results);
        if (job->cancelled()) {
            metrics.count_cancel(model, "disconnect");
            res.status = 499;  // nginx's "client closed request": nobody reads this answer
            finish_request(metrics, acct, facts, results, u, 499);
            return;
        }
        std::optional<ApiError> err;
        bool budget_limited = false;
        for (const auto& r : results) {
            if (!err) err = failure(*r);
            budget_limited |= r->trace.budget_limited;
        }
        if (!err && budget_limited && reject_over_budget) err = budget_error;
        const Served served = finish_request(metrics, acct, facts, results, u, err ? err->status() : 200);
        set_route_headers(res, model, served, true);
        if (err) throw *err;
        std::vector<ChoiceResult> choices;
        for (size_t i = 0; i < results.size(); ++i) {
            ChoiceResult c;
            c.index = int(i);
            c.text = plan.echo[i] + results[i]->text;
            c.finish = results[i]->finish;
            c.with_logprobs = plan.logprobs;
            c.logprobs = std::move(results[i]->logprobs);
            choices.push_back(std::move(c));
        }
        nlohmann::ordered_json body = plan.chat ? chat_completion_json(meta, choices, u) : text_completion_json(meta, choices, u);
        if (!plan.chat && plan.logprobs)
            for (size_t i = 0; i < choices.size(); ++i)
                body["choices"][i]["logprobs"] = completion_logprobs_json(choices[i].logprobs, code_points(plan.echo[i]));
        body["kinglet"] = served_json(model, served);
        res.set_content(dump_json(body), "application/json");
        return;
    }

    // Streaming: headers go out with the first byte, so wait for choice 0's first event (a routed
    // generation's first delta carries the routing decision). A choice that fails before anything was
    // streamed gets a plain HTTP error instead of an event stream.
    std::vector<JobEvent> prefetched;
    std::shared_ptr<const router::RouteTrace> first_trace;
    bool choice0_seen = false, all_done = false;
    {
        ConnectionWatch watch(req.local_addr, req.local_port, req.remote_addr, req.remote_port);
        while (!choice0_seen && !all_done) {
            all_done = job->wait(prefetched, kPollInterval);
            for (const auto& e : prefetched)
                if (e.choice == 0) {
                    choice0_seen = true;
                    if (e.trace && !first_trace) first_trace = e.trace;
                }
            if (!choice0_seen && !all_done && watch.closed()) {
                job->cancel();
                job->wait_all(nullptr, kPollInterval);
                metrics.count_cancel(model, "disconnect");
                res.status = 499;
                finish_request(metrics, acct, facts, job->results(), account(metrics, model, plan, job->results()), 499);
                return;
            }
        }
    }
    const auto& r0 = job->results()[0];
    bool streamed0 = false;
    for (const auto& e : prefetched) streamed0 |= e.choice == 0 && !e.done;
    if (r0 && !streamed0) {
        // Choice 0 finished before any delta: an error can still be a proper HTTP status.
        if (auto err = failure(*r0)) {
            job->cancel();
            job->wait_all(nullptr, kPollInterval);
            const Usage u = account(metrics, model, plan, job->results());
            const Served served = finish_request(metrics, acct, facts, job->results(), u, err->status());
            set_route_headers(res, model, served, true);
            throw *err;
        }
        if (!first_trace) first_trace = std::make_shared<router::RouteTrace>(r0->trace);
    }
    if (first_trace && first_trace->budget_limited && reject_over_budget) {
        job->cancel();
        job->wait_all(nullptr, kPollInterval);
        const Usage u = account(metrics, model, plan, job->results());
        const Served served = finish_request(metrics, acct, facts, job->results(), u, 429);
        set_route_headers(res, model, served, true);
        throw budget_error;
    }
    set_route_headers(res, model, first_trace ? served_from(*first_trace) : Served{}, false);

    auto st = std::make_shared<Stream>();
    st->job = job;
    st->meta = std::move(meta);
    st->metrics = &metrics;
    st->acct = &acct;
    st->facts = facts;
    st->prefetched = std::move(prefetched);
    st->in_flight = guard;
    st->offset.resize(plan.gens.size(), 0);
    for (size_t i = 0; i < plan.gens.size(); ++i) st->offset[i] = code_points(plan.echo[i]);
    st->plan = std::move(plan);
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");
    res.set_chunked_content_provider(
        "text/event-stream", [st](size_t, httplib::DataSink& sink) { return st->step(sink); },
        [st, &metrics, model](bool ok) {
            if (!st->finished) {
                st->job->cancel();
                metrics.count_cancel(model, "disconnect");
            }
            if (!st->recorded) {
                // The client went away mid-stream: record what was spent (generations end quickly once
                // cancelled; wait a little for their results).
                std::vector<JobEvent> ignored;
                for (int i = 0; i < 40 && !st->job->wait(ignored, kPollInterval); ++i) ignored.clear();
                st->record(account(metrics, model, st->plan, st->job->results()), 499);
            }
        });
}

}  // namespace detail

void HttpServer::handle_chat(const httplib::Request& req, httplib::Response& res) {
    if (!ready_ && registry_->size() == 0) throw ApiError(503, "The models are still loading.", {}, "loading").with_retry_after(5);
    const json body = parse_json_body(req.body);
    ChatCompletionRequest cr = parse_chat_request(body, opt_.limits);
    std::string model;
    auto provider = resolve(cr.model, model);
    Plan plan;
    plan.chat = true;
    plan.stream = cr.sampling.stream;
    plan.include_usage = cr.sampling.include_usage;
    plan.logprobs = cr.logprobs;
    for (int i = 0; i < cr.sampling.n; ++i) {
        plan.gens.push_back(to_generation(cr, i));
        plan.prompt_of.push_back(0);
        plan.echo.emplace_back();
    }
    detail::run_plan(*this, metrics_, in_flight_, req, res, provider, model, std::move(plan), deadline(), caller(req));
}

void HttpServer::handle_completion(const httplib::Request& req, httplib::Response& res) {
    if (!ready_ && registry_->size() == 0) throw ApiError(503, "The models are still loading.", {}, "loading").with_retry_after(5);
    const json body = parse_json_body(req.body);
    CompletionRequest cr = parse_completion_request(body, opt_.limits);
    std::string model;
    auto provider = resolve(cr.model, model);
    if (cr.prompts.size() * size_t(cr.sampling.n) > size_t(opt_.limits.max_prompts))
        bad_param("n", "Invalid 'n': {} prompts x n = {} choices; at most {} are allowed in one request.", cr.prompts.size(),
                  cr.prompts.size() * size_t(cr.sampling.n), opt_.limits.max_prompts);
    Plan plan;
    plan.chat = false;
    plan.stream = cr.sampling.stream;
    plan.include_usage = cr.sampling.include_usage;
    plan.logprobs = cr.logprobs >= 0;
    for (size_t p = 0; p < cr.prompts.size(); ++p) {
        std::string echo;
        if (cr.echo) {
            const PromptInput& in = cr.prompts[p];
            if (!in.is_tokens) echo = in.text;
            else if (const Tokenizer* tok = provider->tokenizer()) echo = tok->decode(in.tokens);
        }
        for (int i = 0; i < cr.sampling.n; ++i) {
            plan.gens.push_back(to_generation(cr, p, i));
            plan.prompt_of.push_back(p);
            plan.echo.push_back(echo);
        }
    }
    detail::run_plan(*this, metrics_, in_flight_, req, res, provider, model, std::move(plan), deadline(), caller(req));
}

}  // namespace kinglet::server
