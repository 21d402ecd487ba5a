// Label-constrained classification on the trained tiny model (real confidence signals), checked by
// properties and against an unconstrained run's own log-probabilities.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "eval/local_classifier.h"
#include "model/model.h"
#include "support/paths.h"

using namespace kinglet;
using namespace kinglet::eval;

namespace {
std::shared_ptr<const Model> stories() {
    static std::shared_ptr<const Model> m =
        Model::load((test::models_dir() / "stories260K" / "model-f32.gguf").string());
    return m;
}
EngineOptions options() {
    EngineOptions o;
    o.kv_type = DType::F32;
    o.max_seqs = 8;
    o.n_threads = 2;
    o.n_ctx = 256;
    return o;
}
const std::vector<std::string> kPrompts = {
    "Once upon a time, there was a little", "The dog was very", "Lily saw a big", "Tom and his mom went to the"};
}  // namespace

TEST(LocalClassifier, SignalsAreConsistentOnTheTinyModel) {
    auto m = stories();
    Engine e(m, m->tokenizer(), options());
    LocalClassifier cls(e, {"girl", "boy", "happy", "sad", "park"});
    for (const auto& p : kPrompts) {
        SCOPED_TRACE(p);
        auto r = cls.classify(p);
        double sum = 0;
        for (double q : r.scores.prob) sum += q;
        EXPECT_NEAR(sum, 1.0, 1e-9);
        ASSERT_GE(r.predicted, 0);
        for (size_t i = 0; i < r.scores.prob.size(); ++i) EXPECT_LE(r.scores.prob[i], r.scores.prob[size_t(r.predicted)]);
        // The constrained generation produced a label.
        EXPECT_GE(r.generated, 0);
        EXPECT_GE(r.scores.margin, 0);
        EXPECT_LE(r.scores.min_token_logprob, r.scores.mean_token_logprob + 1e-9);
        EXPECT_LE(r.scores.mean_token_logprob, 0);
        // Log-probabilities sum to each label's logprob.
        for (size_t l = 0; l < r.token_logprobs.size(); ++l) {
            double s = 0;
            for (float x : r.token_logprobs[l]) s += x;
            EXPECT_NEAR(s, r.scores.logprob[l], 1e-4);
        }
    }
}

TEST(LocalClassifier, TeacherForcedFirstTokenMatchesAnUnconstrainedRun) {
    // Independent check of the teacher forcing: the first label token's log-probability must equal the
    // probability an unconstrained request reports for that token at the first generated position.
    auto m = stories();
    Engine e(m, m->tokenizer(), options());
    LocalClassifier cls(e, {"girl", "boy", "happy", "sad", "park"});
    const auto& tok = *m->tokenizer();
    for (const auto& p : kPrompts) {
        SCOPED_TRACE(p);
        auto r = cls.classify(p);
        Request q;
        q.prompt = tok.encode(p, true, true);
        q.max_tokens = 1;
        q.logprobs = tok.n_vocab();
        auto c = e.generate(std::move(q));
        ASSERT_EQ(c.token_info.size(), 1u);
        std::map<int32_t, float> lp(c.token_info[0].top_logprobs.begin(), c.token_info[0].top_logprobs.end());
        double z = 0;
        for (auto& [id, v] : lp) z += std::exp(double(v));
        EXPECT_NEAR(z, 1.0, 1e-3);
        for (size_t l = 0; l < cls.labels().size(); ++l)
            EXPECT_NEAR(r.token_logprobs[l][0], lp.at(cls.label_tokens()[l][0]), 1e-4) << cls.labels()[l];
        // Greedy constrained generation picks, as first token, the allowed token with the highest
        // probability.
        int best_first = 0;
        for (size_t l = 1; l < cls.labels().size(); ++l)
            if (lp.at(cls.label_tokens()[l][0]) > lp.at(cls.label_tokens()[size_t(best_first)][0])) best_first = int(l);
        EXPECT_EQ(cls.label_tokens()[size_t(r.generated)][0], cls.label_tokens()[size_t(best_first)][0]);
    }
}

TEST(LocalClassifier, SingleTokenLabelsGreedyIsTheArgmax) {
    // With single-token labels the label probability is the first-token probability, so the greedy
    // constrained output must be the argmax of the label probabilities.
    auto m = stories();
    Engine e(m, m->tokenizer(), options());
    const auto& tok = *m->tokenizer();
    std::vector<std::string> labels;
    for (const char* w : {"a", "the", "big", "little", "happy", "so"})
        if (tok.encode(w, false, false).size() == 1) labels.push_back(w);
    ASSERT_GE(labels.size(), 3u);
    LocalClassifier cls(e, labels);
    for (const auto& p : kPrompts) {
        auto r = cls.classify(p);
        EXPECT_EQ(r.generated, r.predicted) << p;
    }
}
