// kinglet serve's label-constrained answers (router/local_labels.cpp, what a cascade's label_prob signal
// reads) against the eval classifier (eval/local_classifier.h), a separate implementation of the same
// quantity by teacher forcing: the served label is the constrained greedy one, and its label_prob is
// that label's probability normalised over the set.
#include <gtest/gtest.h>

#include <algorithm>
#include <future>

#include "eval/local_classifier.h"
#include "model/model.h"
#include "router/local_provider.h"
#include "support/paths.h"

using namespace kinglet;

TEST(ServedLabels, LabelProbIsTheClassifiersNormalisedProbability) {
    std::shared_ptr<const Model> model = Model::load((test::models_dir() / "stories260K" / "model-f32.gguf").string());
    EngineOptions eo;
    eo.kv_type = DType::F32;
    eo.max_seqs = 8;
    eo.n_threads = 2;
    eo.n_ctx = 256;
    const std::vector<std::string> labels = {"girl", "boy", "dog", "cat", "ball", "park"};
    Engine engine(model, model->tokenizer(), eo);
    eval::LocalClassifier cls(engine, labels);
    router::LocalModelOptions lo;
    lo.engine = eo;
    auto provider = std::make_shared<router::LocalProvider>(model, lo);
    for (const std::string prompt : {"Once upon a time there was a little", "The dog was very", "Lily saw a big",
                                     "Tom and his mom went to the"}) {
        SCOPED_TRACE(prompt);
        const auto ref = cls.classify(prompt);
        router::GenerationRequest req;
        req.kind = router::GenerationRequest::Kind::text;
        req.prompt = prompt;
        req.labels = labels;
        req.temperature = 0;
        std::promise<router::GenerationResult> done;
        router::GenerationCallbacks cb;
        cb.on_done = [&](router::GenerationResult&& r) { done.set_value(std::move(r)); };
        auto g = provider->start(req, std::move(cb));
        const auto got = done.get_future().get();
        ASSERT_EQ(got.finish, router::Finish::stop) << got.error;
        const auto it = std::find(labels.begin(), labels.end(), got.text);
        ASSERT_NE(it, labels.end()) << "'" << got.text << "'";
        const size_t i = size_t(it - labels.begin());
        EXPECT_EQ(int(i), ref.generated);
        ASSERT_TRUE(got.label_prob.has_value());
        EXPECT_NEAR(*got.label_prob, ref.scores.prob[i], 1e-4);
    }
    provider->shutdown(std::chrono::steady_clock::now() + std::chrono::seconds(5));
}
