// Routing policies with scripted providers: when a cascade escalates (confidence under the threshold,
// failure, length) and what it serves, fallbacks, budgets, tier and domain choices, and the trace of
// every attempt — checked against the rules in router/route.h, by hand.
#include <gtest/gtest.h>

// Scripts name only the fields that matter to each test.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include <map>

#include "core/error.h"
#include "router/metered_provider.h"
#include "router/route.h"
#include "router/fake_provider.h"

namespace kinglet::router {
namespace {

using test::FakeProvider;
using test::Script;

struct World {
    std::map<std::string, std::shared_ptr<Provider>> providers;
    std::map<std::string, std::shared_ptr<FakeProvider>> fakes;
    Resolver resolve() {
        return [this](const std::string& n) -> std::shared_ptr<Provider> {
            auto it = providers.find(n);
            return it == providers.end() ? nullptr : it->second;
        };
    }
    // A metered fake: $1 per 1M input tokens, $2 per 1M output tokens.
    void add(const std::string& name, std::vector<Script> s, bool remote) {
        auto f = std::make_shared<FakeProvider>(std::move(s));
        fakes[name] = f;
        providers[name] = std::make_shared<MeteredProvider>(name, f, Pricing{1, 2, 0}, remote);
    }
};

struct Outcome {
    GenerationResult result;
    std::vector<GenerationDelta> deltas;
};

Outcome run(Provider& p, GenerationRequest req, bool stream = false) {
    Outcome o;
    GenerationCallbacks cb;
    if (stream)
        cb.on_delta = [&](GenerationDelta&& d) {
            o.deltas.push_back(std::move(d));
            return true;
        };
    bool done = false;
    cb.on_done = [&](GenerationResult&& r) {
        o.result = std::move(r);
        done = true;
    };
    p.start(std::move(req), std::move(cb));
    EXPECT_TRUE(done);  // the fakes answer synchronously
    return o;
}

GenerationRequest chat(const std::string& text) {
    GenerationRequest r;
    r.messages = {{"user", text, {}}};
    return r;
}

TEST(Signals, MeanMinAndLabel) {
    GenerationResult r;
    r.text = "abc";
    r.completion_tokens = 3;
    for (float lp : {-0.5f, -1.5f, -1.0f}) {
        TokenLogprob t;
        t.logprob = lp;
        r.logprobs.push_back(t);
    }
    EXPECT_DOUBLE_EQ(*confidence(Signal::mean_logprob, r), -1.0);
    EXPECT_DOUBLE_EQ(*confidence(Signal::min_logprob, r), -1.5);
    EXPECT_FALSE(confidence(Signal::label_prob, r));
    r.label_prob = 0.25;
    EXPECT_DOUBLE_EQ(*confidence(Signal::label_prob, r), 0.25);
    r.logprobs.clear();
    EXPECT_FALSE(confidence(Signal::mean_logprob, r));  // tokens but no logprobs: unknown
    EXPECT_FALSE(confidence(Signal::none, r));
}

TEST(Cascade, ConfidentAnswerStaysOnTheFirstStep) {
    World w;
    w.add("small", {{.text = "billing", .label_prob = 0.9}}, false);
    w.add("large", {{.text = "bug"}}, true);
    auto c = make_cascade("triage", {{{"small"}, Signal::label_prob, 0.8}, {{"large"}, Signal::none, 0}},
                          {"billing", "bug"}, w.resolve());
    Outcome o = run(*c, chat("charged twice"));
    EXPECT_EQ(o.result.text, "billing");
    EXPECT_EQ(o.result.trace.provider, "small");
    EXPECT_FALSE(o.result.trace.escalated);
    EXPECT_DOUBLE_EQ(*o.result.trace.confidence, 0.9);
    EXPECT_EQ(o.result.trace.signal, "label_prob");
    ASSERT_EQ(o.result.trace.attempts.size(), 1u);
    EXPECT_EQ(o.result.trace.attempts[0].outcome, "ok");
    EXPECT_TRUE(w.fakes["large"]->requests.empty());
    // The labels reach the step.
    EXPECT_EQ(w.fakes["small"]->requests[0].labels, (std::vector<std::string>{"billing", "bug"}));
    // 10 prompt tokens at $1/M + 5 completion tokens at $2/M.
    EXPECT_DOUBLE_EQ(o.result.trace.cost_usd(), 20e-6);
    EXPECT_DOUBLE_EQ(o.result.trace.remote_cost_usd(), 0);
}

TEST(Cascade, LowConfidenceEscalatesAndTheClientSeesOneAnswer) {
    World w;
    w.add("small", {{.text = "billing", .label_prob = 0.5}}, false);
    w.add("large", {{.text = "bug"}}, true);
    auto c = make_cascade("triage", {{{"small"}, Signal::label_prob, 0.8}, {{"large"}, Signal::none, 0}},
                          {"billing", "bug"}, w.resolve());
    Outcome o = run(*c, chat("it crashes"), /*stream=*/true);
    EXPECT_EQ(o.result.text, "bug");
    EXPECT_EQ(o.result.trace.provider, "large");
    EXPECT_TRUE(o.result.trace.escalated);
    ASSERT_EQ(o.result.trace.attempts.size(), 2u);
    EXPECT_EQ(o.result.trace.attempts[0].outcome, "low_confidence");
    EXPECT_DOUBLE_EQ(*o.result.trace.attempts[0].confidence, 0.5);
    EXPECT_EQ(o.result.trace.attempts[1].outcome, "ok");
    EXPECT_TRUE(o.result.trace.attempts[1].remote);
    EXPECT_DOUBLE_EQ(o.result.trace.remote_cost_usd(), 20e-6);
    EXPECT_DOUBLE_EQ(o.result.trace.cost_usd(), 40e-6);
    // Only the large answer was streamed; its first delta says who answers.
    ASSERT_EQ(o.deltas.size(), 1u);
    EXPECT_EQ(o.deltas[0].text, "bug");
    ASSERT_TRUE(o.deltas[0].trace);
    EXPECT_EQ(o.deltas[0].trace->provider, "large");
    EXPECT_TRUE(o.deltas[0].trace->escalated);
}

TEST(Cascade, LogprobSignalsAskForLogprobsButDoNotLeakThem) {
    World w;
    w.add("small", {{.text = "x", .logprobs = {-0.1f, -3.0f}}}, false);
    w.add("large", {{.text = "y"}}, true);
    auto mean = make_cascade("r", {{{"small"}, Signal::mean_logprob, -2.0}, {{"large"}, Signal::none, 0}}, {}, w.resolve());
    Outcome o = run(*mean, chat("q"));
    EXPECT_EQ(o.result.text, "x");  // mean -1.55 >= -2
    EXPECT_NEAR(*o.result.trace.confidence, (-0.1 + -3.0) / 2, 1e-6);  // float logprobs
    EXPECT_EQ(w.fakes["small"]->requests[0].logprobs, 0);
    EXPECT_TRUE(o.result.logprobs.empty());  // the client did not ask

    World w2;
    w2.add("small", {{.text = "x", .logprobs = {-0.1f, -3.0f}}}, false);
    w2.add("large", {{.text = "y"}}, true);
    auto mn = make_cascade("r", {{{"small"}, Signal::min_logprob, -2.0}, {{"large"}, Signal::none, 0}}, {}, w2.resolve());
    EXPECT_EQ(run(*mn, chat("q")).result.text, "y");  // min -3 < -2
}

TEST(Cascade, LengthAndFailuresEscalate) {
    World w;
    w.add("small", {{.text = "cut", .finish = Finish::length, .label_prob = 0.99}}, false);
    w.add("large", {{.text = "whole"}}, true);
    auto c = make_cascade("r", {{{"small"}, Signal::label_prob, 0.5}, {{"large"}, Signal::none, 0}}, {"a"}, w.resolve());
    Outcome o = run(*c, chat("q"));
    EXPECT_EQ(o.result.text, "whole");
    EXPECT_EQ(o.result.trace.attempts[0].outcome, "length");

    World w2;
    w2.add("small", {{.finish = Finish::timeout}}, false);
    w2.add("large", {{.text = "whole"}}, true);
    auto c2 = make_cascade("r", {{{"small"}, Signal::label_prob, 0.5}, {{"large"}, Signal::none, 0}}, {"a"}, w2.resolve());
    o = run(*c2, chat("q"));
    EXPECT_EQ(o.result.text, "whole");
    EXPECT_EQ(o.result.trace.attempts[0].outcome, "timeout");
}

TEST(Cascade, FailedEscalationServesTheEarlierAnswer) {
    World w;
    w.add("small", {{.text = "billing", .label_prob = 0.3}}, false);
    w.add("large", {{.finish = Finish::error}}, true);
    auto c = make_cascade("r", {{{"small"}, Signal::label_prob, 0.8}, {{"large"}, Signal::none, 0}}, {"billing"}, w.resolve());
    Outcome o = run(*c, chat("q"), true);
    EXPECT_EQ(o.result.finish, Finish::stop);
    EXPECT_EQ(o.result.text, "billing");
    EXPECT_EQ(o.result.trace.provider, "small");
    EXPECT_TRUE(o.result.trace.escalated);
    EXPECT_DOUBLE_EQ(*o.result.trace.confidence, 0.3);
    ASSERT_EQ(o.result.trace.attempts.size(), 2u);
    EXPECT_EQ(o.result.trace.attempts[1].outcome, "error");
    ASSERT_EQ(o.deltas.size(), 1u);
    EXPECT_EQ(o.deltas[0].text, "billing");
}

TEST(Cascade, BudgetDeclinesTheRemoteStep) {
    World w;
    w.add("small", {{.text = "billing", .label_prob = 0.3}}, false);
    w.add("large", {{.text = "bug"}}, true);
    auto c = make_cascade("r", {{{"small"}, Signal::label_prob, 0.8}, {{"large"}, Signal::none, 0}}, {"billing"}, w.resolve());
    GenerationRequest req = chat("q");
    req.remote_allowed = [] { return false; };
    Outcome o = run(*c, req);
    EXPECT_EQ(o.result.text, "billing");
    EXPECT_TRUE(o.result.trace.budget_limited);
    ASSERT_EQ(o.result.trace.attempts.size(), 2u);
    EXPECT_EQ(o.result.trace.attempts[1].outcome, "budget_declined");
    EXPECT_DOUBLE_EQ(o.result.trace.attempts[1].cost_usd, 0);
    EXPECT_TRUE(w.fakes["large"]->requests.empty());  // no call was made
}

TEST(Cascade, StepTargetMayBeAFallbackList) {
    World w;
    w.add("small", {{.text = "a", .label_prob = 0.1}}, false);
    w.add("dead", {{.finish = Finish::error}}, true);
    w.add("large", {{.text = "b"}}, true);
    auto c = make_cascade("r", {{{"small"}, Signal::label_prob, 0.8}, {{"dead", "large"}, Signal::none, 0}}, {"a"},
                          w.resolve());
    Outcome o = run(*c, chat("q"));
    EXPECT_EQ(o.result.text, "b");
    EXPECT_EQ(o.result.trace.provider, "large");
    ASSERT_EQ(o.result.trace.attempts.size(), 3u);
    EXPECT_EQ(o.result.trace.attempts[0].provider, "small");
    EXPECT_EQ(o.result.trace.attempts[1].provider, "dead");
    EXPECT_EQ(o.result.trace.attempts[1].outcome, "error");
    EXPECT_EQ(o.result.trace.attempts[2].provider, "large");
}

TEST(Fallback, TriesInOrderOnErrorsAndRefusals) {
    World w;
    w.add("a", {{.throw_on_start = true}}, true);
    w.add("b", {{.finish = Finish::timeout}}, true);
    w.add("c", {{.text = "ok"}}, false);
    auto f = make_fallback("fb", {"a", "missing", "b", "c"}, w.resolve());
    Outcome o = run(*f, chat("q"));
    EXPECT_EQ(o.result.text, "ok");
    EXPECT_EQ(o.result.trace.provider, "c");
    std::vector<std::string> seen;
    for (const auto& a : o.result.trace.attempts) seen.push_back(a.provider + ":" + a.outcome);
    EXPECT_EQ(seen, (std::vector<std::string>{"a:error", "missing:error", "b:timeout", "c:ok"}));
}

TEST(Fallback, AllFailingReportsTheLastError) {
    World w;
    w.add("a", {{.finish = Finish::error}}, true);
    w.add("b", {{.text = "x"}}, true);
    auto f = make_fallback("fb", {"a", "b"}, w.resolve());
    GenerationRequest req = chat("q");
    req.remote_allowed = [] { return false; };
    Outcome o = run(*f, req);
    EXPECT_EQ(o.result.finish, Finish::error);
    EXPECT_EQ(o.result.http_status, 429);  // the budget refused the last one
    EXPECT_EQ(o.result.trace.attempts.size(), 2u);
}

TEST(Tier, ByTheCallersTierElseDefault) {
    World w;
    w.add("small", {{.text = "s"}}, false);
    w.add("large", {{.text = "l"}}, true);
    auto t = make_tier("chat", {{"free", {"small"}}, {"paid", {"large"}}, {"default", {"small"}}}, {}, w.resolve());
    GenerationRequest req = chat("q");
    req.tier = "paid";
    EXPECT_EQ(run(*t, req).result.trace.provider, "large");
    req.tier = "free";
    EXPECT_EQ(run(*t, req).result.trace.provider, "small");
    req.tier = "gold";
    EXPECT_EQ(run(*t, req).result.trace.provider, "small");
    auto strict = make_tier("chat", {{"paid", {"large"}}}, {}, w.resolve());
    req.tier = "free";
    EXPECT_THROW(strict->start(req, {}), Error);
}

TEST(Domain, KeywordsAreWholeWordsAndPatternsAreRegexes) {
    World w;
    w.add("small", {{.text = "s"}}, false);
    w.add("large", {{.text = "l"}}, true);
    w.add("legal", {{.text = "g"}}, true);
    std::vector<DomainRule> rules = {
        {"billing", {"large"}, {"invoice", "refund"}, {}, {}},
        {"law", {"legal"}, {}, {"gdpr|data\\s+protection"}, {}},
    };
    auto d = make_domain("support", rules, {"small"}, "", 0.5, {}, w.resolve());
    EXPECT_EQ(run(*d, chat("Where is my INVOICE?")).result.trace.provider, "large");
    EXPECT_EQ(run(*d, chat("refunds")).result.trace.provider, "small");  // not the whole word
    EXPECT_EQ(run(*d, chat("is this Data   Protection compliant")).result.trace.provider, "legal");
    EXPECT_EQ(run(*d, chat("hello")).result.trace.provider, "small");
    GenerationRequest text;
    text.kind = GenerationRequest::Kind::text;
    text.prompt = "refund please";
    EXPECT_EQ(run(*d, text).result.trace.provider, "large");
    EXPECT_THROW(make_domain("bad", {{"x", {"small"}, {}, {"(unclosed"}, {}}}, {"small"}, "", 0.5, {}, w.resolve()), Error);
}

}  // namespace
}  // namespace kinglet::router

namespace kinglet::router {
namespace {

// Embeddings by hand: one dimension per word family, so similarities are known exactly.
class WordEmbedder final : public Provider {
public:
    ProviderInfo info() const override { return {}; }
    std::unique_ptr<Generation> start(GenerationRequest req, GenerationCallbacks cb) override {
        calls++;
        const std::vector<std::vector<std::string>> families = {{"charge", "refund", "invoice"}, {"crash", "error", "bug"}, {"hello"}};
        GenerationResult r;
        for (const auto& f : families) {
            float n = 0;
            for (const auto& w : f)
                for (size_t at = req.prompt.find(w); at != std::string::npos; at = req.prompt.find(w, at + 1)) n += 1;
            r.embedding.push_back(n);
        }
        cb.on_done(std::move(r));
        struct Nothing final : Generation {
            void cancel() override {}
        };
        return std::make_unique<Nothing>();
    }
    int calls = 0;
};

TEST(Domain, SemanticRoutesByNearestCentroid) {
    World w;
    w.add("small", {{.text = "s"}}, false);
    w.add("billing_model", {{.text = "b"}}, true);
    w.add("bug_model", {{.text = "g"}}, true);
    auto emb = std::make_shared<WordEmbedder>();
    w.providers["embedder"] = emb;
    std::vector<DomainRule> rules = {
        {"billing", {"billing_model"}, {}, {}, {"I was charged twice", "refund the invoice"}},
        {"bugs", {"bug_model"}, {}, {}, {"the app has a crash", "error on start, a bug"}},
    };
    // Centroids: billing (1,0,0) + (2,0,0) -> (1,0,0); bugs (0,1,0) + (0,2,0) -> (0,1,0).
    auto d = make_domain("support", rules, {"small"}, "embedder", 0.75, {}, w.resolve());
    EXPECT_EQ(run(*d, chat("please refund")).result.trace.provider, "billing_model");     // cos 1
    EXPECT_EQ(run(*d, chat("crash crash")).result.trace.provider, "bug_model");          // cos 1
    EXPECT_EQ(run(*d, chat("charge and crash")).result.trace.provider, "small");         // cos 0.707 < 0.75
    EXPECT_EQ(run(*d, chat("hello")).result.trace.provider, "small");                    // cos 0
    EXPECT_EQ(emb->calls, 4 + 4);  // the four examples once, then one per request
}

}  // namespace
}  // namespace kinglet::router
