// The Engine against independent references (llama2.c's greedy runs) and against itself run one
// request at a time: continuous batching, prefix caching and preemption must not change a token.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <numeric>
#include <thread>

#include "core/error.h"
#include "runtime/engine.h"
#include "support/paths.h"
#include "support/reference.h"

using namespace kinglet;

namespace {

std::shared_ptr<const Model> stories() {
    static std::shared_ptr<const Model> m =
        Model::load((test::models_dir() / "stories260K" / "model-f32.gguf").string());
    return m;
}

std::vector<test::RefRun> stories_refs() {
    return test::load_reference((test::models_dir() / "stories260K" / "ref-llama2c-greedy.json").string());
}

EngineOptions f32_options(int max_seqs) {
    EngineOptions o;
    o.kv_type = DType::F32;
    o.max_seqs = max_seqs;
    o.n_threads = 2;
    o.n_ctx = 512;
    return o;
}

Request greedy_request(std::vector<int32_t> prompt, int n) {
    Request r;
    r.prompt = std::move(prompt);
    r.sampling = SamplingParams::greedy();
    r.max_tokens = n;
    r.ignore_eos = true;  // llama2.c's reference stops on BOS, not the vocabulary's EOS; compare raw ids
    return r;
}

// llama2.c stops a sample when the model emits BOS (id 1); the reference ids include it.
std::vector<int32_t> cut_at_bos(std::vector<int32_t> ids) {
    auto it = std::find(ids.begin(), ids.end(), 1);
    if (it != ids.end()) ids.erase(it + 1, ids.end());
    return ids;
}

// Submits every reference prompt at once and waits for all completions.
std::vector<Completion> run_all(Engine& e, const std::vector<test::RefRun>& refs) {
    std::vector<Completion> out(refs.size());
    std::atomic<int> done{0};
    for (size_t i = 0; i < refs.size(); ++i) {
        Request r = greedy_request(refs[i].prompt_ids, int(refs[i].ids.size()));
        r.on_done = [&, i](Completion&& c) {
            out[i] = std::move(c);
            done++;
        };
        e.submit(std::move(r));
    }
    while (done.load() < int(refs.size())) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return out;
}

}  // namespace

TEST(Engine, TokenizesAndGeneratesLikeLlama2c) {
    auto m = stories();
    Engine e(m, m->tokenizer(), f32_options(1));
    for (const auto& r : stories_refs()) {
        auto prompt = m->tokenizer()->encode(r.prompt, true, false);
        ASSERT_EQ(prompt, r.prompt_ids) << r.prompt;
        Completion c = e.generate(greedy_request(prompt, int(r.ids.size())));
        EXPECT_EQ(cut_at_bos(c.tokens), r.ids) << r.prompt;
    }
}

// All prompts at once, 4 decoded together: identical ids to the references (F32 cache: exact).
TEST(Engine, ContinuousBatchingChangesNothing) {
    auto m = stories();
    Engine e(m, m->tokenizer(), f32_options(4));
    auto refs = stories_refs();
    std::vector<Completion> out = run_all(e, refs);
    for (size_t i = 0; i < refs.size(); ++i) EXPECT_EQ(cut_at_bos(out[i].tokens), refs[i].ids) << refs[i].prompt;
    EngineStats st = e.stats();
    EXPECT_EQ(st.running, 0u);
    EXPECT_GT(st.steps, 0u);
}

// A KV pool too small for all sequences at once forces preemption; results are unchanged.
TEST(Engine, PreemptionRecomputesWithoutChangingTokens) {
    auto m = stories();
    EngineOptions o = f32_options(4);
    o.kv_blocks = 12;  // 384 positions for 4 sequences of up to ~230
    o.prefix_cache = false;
    Engine e(m, m->tokenizer(), o);
    auto refs = stories_refs();
    std::vector<Completion> out = run_all(e, refs);
    for (size_t i = 0; i < refs.size(); ++i) EXPECT_EQ(cut_at_bos(out[i].tokens), refs[i].ids) << refs[i].prompt;
}

TEST(Engine, PrefixCacheReusesBlocksAndKeepsOutput) {
    auto m = stories();
    auto refs = test::load_reference((test::models_dir() / "stories260K" / "ref-llama2c-greedy-long.json").string());
    const auto& r = refs.at(0);  // a 223-token prompt
    Engine e(m, m->tokenizer(), f32_options(2));
    Completion first = e.generate(greedy_request(r.prompt_ids, 40));
    EXPECT_EQ(first.n_cached_prompt, 0);
    Completion second = e.generate(greedy_request(r.prompt_ids, 40));
    EXPECT_EQ(second.n_cached_prompt, 192);  // 6 full blocks of 32; the last partial block is recomputed
    EXPECT_EQ(first.tokens, second.tokens);
    EXPECT_EQ(std::vector<int32_t>(r.ids.begin(), r.ids.begin() + 40), second.tokens);
    EXPECT_GE(e.stats().prefix_hit_blocks, 6u);
}

TEST(Engine, StopStringEndsAndIsNotReturned) {
    auto m = stories();
    Engine e(m, m->tokenizer(), f32_options(1));
    auto refs = stories_refs();
    const auto& r = refs[2];  // "Once upon a time"
    // The reference continuation's text; stop at the first occurrence of a word from it.
    std::string full = m->tokenizer()->decode(r.ids, DecodeOptions{true, false, false});
    size_t at = full.find("little");
    ASSERT_NE(at, std::string::npos);
    Request req = greedy_request(r.prompt_ids, 100);
    req.stop = {"little"};
    std::string streamed;
    req.on_event = [&](const StreamEvent& ev) {
        streamed += ev.text;
        return true;
    };
    Completion c = e.generate(std::move(req));
    EXPECT_EQ(c.finish, FinishReason::stop);
    EXPECT_EQ(c.text, full.substr(0, at));
    EXPECT_EQ(streamed, c.text);
}

TEST(Engine, MaxTokensGivesLength) {
    auto m = stories();
    Engine e(m, m->tokenizer(), f32_options(1));
    Completion c = e.generate(greedy_request({1, 403}, 5));
    EXPECT_EQ(c.tokens.size(), 5u);
    EXPECT_EQ(c.finish, FinishReason::length);
    EXPECT_EQ(c.text, m->tokenizer()->decode(c.tokens, DecodeOptions{true, false, false}));
}

TEST(Engine, CancelFromCallbackFreesTheSequence) {
    auto m = stories();
    Engine e(m, m->tokenizer(), f32_options(1));
    Request r = greedy_request({1, 403}, 400);
    int events = 0;
    r.on_event = [&](const StreamEvent&) { return ++events < 3; };
    Completion c = e.generate(std::move(r));
    EXPECT_EQ(c.finish, FinishReason::cancelled);
    EXPECT_LT(c.tokens.size(), 10u);
    // The engine updates its counters at the end of the step that delivered the completion.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (e.stats().running != 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    EXPECT_EQ(e.stats().running, 0u);
}

TEST(Engine, BadRequestsAreClearErrors) {
    auto m = stories();
    EngineOptions o = f32_options(1);
    o.n_ctx = 64;
    Engine e(m, m->tokenizer(), o);
    try {
        e.submit(greedy_request(std::vector<int32_t>(80, 5), 4));
        FAIL();
    } catch (const Error& err) {
        EXPECT_EQ(err.code(), Errc::invalid_argument);
        EXPECT_NE(std::string(err.what()).find("80 tokens"), std::string::npos);
        EXPECT_NE(std::string(err.what()).find("64"), std::string::npos);
    }
    EXPECT_THROW(e.submit(greedy_request({}, 4)), Error);
    EXPECT_THROW(e.submit(greedy_request({1, 100000}, 4)), Error);
}

TEST(Engine, QueueBoundIsEnforced) {
    auto m = stories();
    EngineOptions o = f32_options(1);
    o.max_queue = 2;
    Engine e(m, m->tokenizer(), o);
    std::atomic<int> done{0};
    int accepted = 0, refused = 0;
    for (int i = 0; i < 20; ++i) {
        Request r = greedy_request({1, 403}, 50);
        r.on_done = [&](Completion&&) { done++; };
        try {
            e.submit(std::move(r));
            ++accepted;
        } catch (const Error& err) {
            EXPECT_EQ(err.code(), Errc::overloaded);
            ++refused;
        }
    }
    EXPECT_GT(refused, 0);
    while (done.load() < accepted) std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

// Mean-pooled embedding equals the mean of the final-normed hidden states computed directly.
TEST(Engine, EmbeddingIsNormalisedMeanOfHiddenStates) {
    auto m = stories();
    Engine e(m, m->tokenizer(), f32_options(2));
    std::vector<int32_t> prompt = {1, 403, 407, 261, 378, 432};
    Request r;
    r.prompt = prompt;
    r.embedding = true;
    Completion c = e.generate(std::move(r));
    ASSERT_EQ(c.embedding.size(), size_t(m->hparams().n_embd));

    const HParams& hp = m->hparams();
    KvCache kv(hp, DType::F32, 1, 32);
    ThreadPool pool(1);
    Forward fwd(*m, kv, pool, 32);
    std::vector<int32_t> table = {0};
    Batch b;
    b.seqs.push_back({table.data(), 1});
    for (size_t i = 0; i < prompt.size(); ++i) b.add(prompt[i], int32_t(i), 0, Batch::kHidden);
    std::vector<float> hidden(prompt.size() * hp.n_embd);
    fwd.run(b, nullptr, hidden.data());
    std::vector<double> mean(hp.n_embd);
    for (size_t t = 0; t < prompt.size(); ++t)
        for (int j = 0; j < hp.n_embd; ++j) mean[j] += hidden[t * hp.n_embd + j] / double(prompt.size());
    double norm = 0;
    for (double v : mean) norm += v * v;
    norm = std::sqrt(norm);
    for (int j = 0; j < hp.n_embd; ++j) EXPECT_NEAR(c.embedding[j], mean[j] / norm, 1e-5);
}
