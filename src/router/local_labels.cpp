// Classification on a local model: a request with `labels` is answered with one of the labels, and
// with the chosen label's probability normalised over the set (the label_prob confidence signal).
//
// As eval/local_classifier does it, but asynchronously: each label becomes a token sequence (its
// text as it follows the prompt after one space; EOS appended to every sequence when one is a prefix
// of another), one request per label is constrained to exactly that label — the Engine scores tokens
// from the raw logits, so this is teacher forcing and the sum is log P(label | prompt), the prompt's
// KV shared through the prefix cache — and one more request, constrained to the whole set with the
// client's sampling settings, produces the answer.
#include <algorithm>
#include <mutex>
#include <random>
#include <set>

#include "core/error.h"
#include "router/local_provider.h"
#include "sampling/label_constraint.h"

namespace kinglet::router {

namespace {

std::vector<std::vector<int32_t>> label_sequences(const Tokenizer& tok, const std::vector<std::string>& labels) {
    std::vector<std::vector<int32_t>> seqs;
    std::set<std::string> seen;
    const bool dummy_prefix = tok.vocab().add_space_prefix;
    for (const auto& l : labels) {
        if (l.empty()) fail(Errc::invalid_argument, "labels must not be empty");
        if (!seen.insert(l).second) fail(Errc::invalid_argument, "label '{}' is declared twice", l);
        seqs.push_back(tok.encode(dummy_prefix ? l : " " + l, false, false));
        if (seqs.back().empty()) fail(Errc::invalid_argument, "label '{}' has no tokens", l);
    }
    bool prefix_free = true;
    for (size_t a = 0; a < seqs.size(); ++a)
        for (size_t b = 0; b < seqs.size(); ++b)
            if (a != b && seqs[a].size() <= seqs[b].size() && std::equal(seqs[a].begin(), seqs[a].end(), seqs[b].begin())) {
                if (seqs[a].size() == seqs[b].size())
                    fail(Errc::invalid_argument, "labels '{}' and '{}' tokenize identically", labels[a], labels[b]);
                prefix_free = false;
            }
    if (!prefix_free) {
        const int32_t eos = tok.vocab().eos >= 0 ? tok.vocab().eos : (tok.eog_ids().empty() ? -1 : tok.eog_ids()[0]);
        if (eos < 0) fail(Errc::invalid_argument, "a label is a prefix of another and the vocabulary has no end token");
        for (auto& s : seqs) s.push_back(eos);
    }
    return seqs;
}

// The k + 1 completions of one classification, gathered from the engine's thread.
struct LabelJob {
    std::mutex mu;
    std::vector<std::optional<Completion>> done;
    size_t remaining = 0;
    std::vector<uint64_t> ids;
    bool abandoned = false;  // start() failed: nobody waits for the callbacks
};

class LabelGeneration final : public Generation {
public:
    LabelGeneration(std::shared_ptr<const LocalProvider> owner, Engine& engine, std::shared_ptr<LabelJob> job)
        : owner_(std::move(owner)), engine_(engine), job_(std::move(job)) {}
    void cancel() override {
        std::vector<uint64_t> ids;
        {
            std::lock_guard<std::mutex> lock(job_->mu);
            ids = job_->ids;
        }
        for (uint64_t id : ids) engine_.cancel(id);
    }

private:
    std::shared_ptr<const LocalProvider> owner_;  // keeps the engine alive
    Engine& engine_;
    std::shared_ptr<LabelJob> job_;
};

}  // namespace

std::unique_ptr<Generation> LocalProvider::start_labels(GenerationRequest req, GenerationCallbacks cb,
                                                        std::vector<int32_t> prompt) {
    const auto seqs = label_sequences(*tok_, req.labels);
    const size_t k = seqs.size();
    size_t longest = 0;
    for (const auto& s : seqs) longest = std::max(longest, s.size());
    if (prompt.size() + longest > size_t(engine_->n_ctx()))
        fail(Errc::invalid_argument, "the prompt is {} tokens long and the longest label {}, but this model's context is {} tokens",
             prompt.size(), longest, engine_->n_ctx());

    auto job = std::make_shared<LabelJob>();
    job->done.resize(k + 1);
    job->remaining = k + 1;
    const bool want_logprobs = req.logprobs >= 0;
    std::shared_ptr<const LocalProvider> self = shared_from_this();
    auto on_delta = std::move(cb.on_delta);
    auto on_done = std::move(cb.on_done);
    auto labels = req.labels;

    // Runs once, on the engine's thread, when the last of the k + 1 completions arrives.
    auto finish = [this, job, seqs, labels, on_delta, on_done, want_logprobs]() {
        {
            std::lock_guard<std::mutex> lock(job->mu);
            if (job->abandoned) return;
        }
        GenerationResult g;
        Completion& gen = *job->done[seqs.size()];
        g.prompt_tokens = int(gen.prompt_tokens.size());
        g.cached_prompt_tokens = gen.n_cached_prompt;
        g.ttft_ms = gen.ttft_ms;
        g.total_ms = gen.total_ms;
        for (size_t i = 0; i <= seqs.size(); ++i) {
            const Completion& c = *job->done[i];
            if (c.finish != FinishReason::stop && c.finish != FinishReason::length) {
                g.finish = to_finish(c.finish);
                g.error = c.error.empty() ? (g.finish == Finish::timeout ? "the request timed out" : "") : c.error;
                g.error_code = Errc::internal;
                g.total_ms = std::max(g.total_ms, c.total_ms);
                if (on_done) on_done(std::move(g));
                return;
            }
            g.total_ms = std::max(g.total_ms, c.total_ms);
        }
        std::vector<std::vector<float>> lps(seqs.size());
        for (size_t i = 0; i < seqs.size(); ++i)
            for (const auto& ti : job->done[i]->token_info) lps[i].push_back(ti.logprob);
        const LabelScores scores = label_scores(lps);
        int chosen = -1;
        for (size_t l = 0; l < seqs.size(); ++l)
            if (gen.tokens == seqs[l]) chosen = int(l);
        if (chosen < 0) {
            g.finish = Finish::error;
            g.error = "label-constrained generation produced no label";
            if (on_done) on_done(std::move(g));
            return;
        }
        g.finish = Finish::stop;
        g.text = labels[size_t(chosen)];
        g.completion_tokens = int(gen.tokens.size());
        g.label_prob = scores.prob[size_t(chosen)];
        if (want_logprobs)
            for (const auto& t : gen.token_info)
                if (!tok_->is_eog(t.id)) g.logprobs.push_back(token_logprob(t));
        if (on_delta) {
            GenerationDelta d;
            d.text = g.text;
            d.logprobs = g.logprobs;
            on_delta(std::move(d));
        }
        if (on_done) on_done(std::move(g));
    };

    std::vector<Request> reqs;
    for (size_t i = 0; i <= k; ++i) {
        Request r;
        r.prompt = prompt;
        r.logprobs = 0;
        r.ignore_eos = true;  // EOS ends a label only through the constraint (prefix-free sets)
        r.deadline = req.deadline;
        if (i < k) {
            r.sampling = SamplingParams::greedy();
            r.constraint = std::make_shared<LabelConstraint>(std::vector<std::vector<int32_t>>{seqs[i]});
            r.max_tokens = int(seqs[i].size());
        } else {
            SamplingParams& s = r.sampling;
            s.temperature = req.temperature;
            s.top_k = req.top_k;
            s.top_p = req.top_p;
            s.min_p = req.min_p;
            s.repeat_penalty = 1.0f;
            s.repeat_last_n = -1;
            s.seed = req.seed ? *req.seed : std::random_device{}() * 0x9E3779B97F4A7C15ull + std::random_device{}();
            r.constraint = std::make_shared<LabelConstraint>(seqs);
            r.max_tokens = int(longest);
            r.logprobs = std::max(0, req.logprobs);
        }
        r.on_done = [job, i, finish](Completion&& c) {
            bool last = false;
            {
                std::lock_guard<std::mutex> lock(job->mu);
                job->done[i] = std::move(c);
                last = --job->remaining == 0;
            }
            if (last) finish();
        };
        reqs.push_back(std::move(r));
    }
    try {
        for (auto& r : reqs) {
            const uint64_t id = engine_->submit(std::move(r));
            std::lock_guard<std::mutex> lock(job->mu);
            job->ids.push_back(id);
        }
    } catch (...) {
        // Requests already queued still call back; nobody waits for them.
        {
            std::lock_guard<std::mutex> lock(job->mu);
            job->abandoned = true;
        }
        for (uint64_t id : job->ids) engine_->cancel(id);
        throw;
    }
    return std::make_unique<LabelGeneration>(self, *engine_, job);
}

}  // namespace kinglet::router
