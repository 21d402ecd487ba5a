#include "eval/local_classifier.h"

#include <chrono>
#include <future>
#include <set>

#include "core/error.h"

namespace kinglet::eval {

LocalClassifier::LocalClassifier(Engine& engine, std::vector<std::string> labels)
    : engine_(engine), labels_(std::move(labels)) {
    if (labels_.empty()) fail(Errc::invalid_argument, "classification needs at least one label");
    std::set<std::string> seen;
    const Tokenizer& tok = engine_.tokenizer();
    const bool dummy_prefix = tok.vocab().add_space_prefix;
    for (const auto& l : labels_) {
        if (l.empty()) fail(Errc::invalid_argument, "labels must not be empty");
        if (!seen.insert(l).second) fail(Errc::invalid_argument, "label '{}' is declared twice", l);
        tokens_.push_back(tok.encode(dummy_prefix ? l : " " + l, false, false));
    }
    bool prefix_free = true;
    for (size_t a = 0; a < tokens_.size(); ++a)
        for (size_t b = 0; b < tokens_.size(); ++b)
            if (a != b && tokens_[a].size() <= tokens_[b].size() &&
                std::equal(tokens_[a].begin(), tokens_[a].end(), tokens_[b].begin())) {
                if (tokens_[a].size() == tokens_[b].size())
                    fail(Errc::invalid_argument, "labels '{}' and '{}' tokenize identically", labels_[a],
                         labels_[b]);
                prefix_free = false;
            }
    if (!prefix_free) {
        const int32_t eos = tok.vocab().eos >= 0 ? tok.vocab().eos : (tok.eog_ids().empty() ? -1 : tok.eog_ids()[0]);
        if (eos < 0)
            fail(Errc::invalid_argument, "a label is a prefix of another and the vocabulary has no end token");
        for (auto& t : tokens_) t.push_back(eos);
    }
}

LabelResult LocalClassifier::classify(const std::string& prompt_text, bool add_bos) const {
    const auto t0 = std::chrono::steady_clock::now();
    const auto prompt = engine_.tokenizer().encode(prompt_text, add_bos, true);
    const size_t k = tokens_.size();
    std::vector<std::promise<Completion>> done(k + 1);
    std::vector<std::future<Completion>> fut;
    for (auto& p : done) fut.push_back(p.get_future());
    for (size_t i = 0; i <= k; ++i) {
        Request r;
        r.prompt = prompt;
        r.sampling = SamplingParams::greedy();
        r.logprobs = 0;
        r.ignore_eos = true;  // EOS ends a label only through the constraint (prefix-free sets)
        if (i < k) {
            r.constraint = std::make_shared<LabelConstraint>(std::vector<std::vector<int32_t>>{tokens_[i]});
            r.max_tokens = int(tokens_[i].size());
        } else {
            r.constraint = std::make_shared<LabelConstraint>(tokens_);
            size_t longest = 0;
            for (const auto& t : tokens_) longest = std::max(longest, t.size());
            r.max_tokens = int(longest);
        }
        r.on_done = [p = &done[i]](Completion&& c) { p->set_value(std::move(c)); };
        engine_.submit(std::move(r));
    }
    LabelResult out;
    out.prompt_tokens = int(prompt.size());
    out.token_logprobs.resize(k);
    for (size_t i = 0; i <= k; ++i) {
        Completion c = fut[i].get();
        if (c.finish == FinishReason::error) fail(Errc::internal, "classification request failed: {}", c.error);
        if (i < k) {
            if (c.tokens != tokens_[i])
                fail(Errc::internal, "teacher-forced label '{}' produced other tokens", labels_[i]);
            for (const auto& ti : c.token_info) out.token_logprobs[i].push_back(ti.logprob);
        } else {
            for (size_t l = 0; l < k; ++l)
                if (c.tokens == tokens_[l]) out.generated = int(l);
        }
    }
    out.scores = label_scores(out.token_logprobs);
    out.predicted = out.scores.best;
    out.completion_tokens = int(tokens_[size_t(out.predicted)].size());
    out.latency_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    return out;
}

}  // namespace kinglet::eval
