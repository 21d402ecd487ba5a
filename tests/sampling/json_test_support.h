// Shared by the JSON mode tests: random edits of a text, and sampling under a constraint from random
// logits on a real vocabulary.
#pragma once
#include <gtest/gtest.h>

#include <functional>
#include <random>
#include <string>
#include <vector>

#include "sampling/sampler.h"
#include "tokenizer/tokenizer.h"

namespace kinglet::test {

// One random edit: delete a byte, insert one from `alphabet`, or replace one with it.
inline void mutate(std::string& t, std::mt19937& rng, const std::string& alphabet) {
    if (t.empty()) return;
    const size_t at = rng() % t.size();
    switch (rng() % 3) {
        case 0: t.erase(at, 1); break;
        case 1: t.insert(t.begin() + long(at), alphabet[rng() % alphabet.size()]); break;
        default: t[at] = alphabet[rng() % alphabet.size()]; break;
    }
}

// Samples up to `steps` tokens at temperature 1 (no truncation) from N(0, 2) logits plus `bias`, under
// constraint `c`, until it completes. `check(text)` runs before every step; an end-of-generation token
// before the constraint is complete is a test failure. Returns the text generated.
inline std::string sample_under(const Tokenizer& tok, Constraint& c, const std::vector<float>& bias, uint64_t seed,
                                int steps, const std::function<void(const std::string&)>& check = {}) {
    const int32_t n = tok.n_vocab();
    SamplingParams p;
    p.temperature = 1.0f;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    p.seed = seed;
    Sampler sampler(p, n);
    std::mt19937 rng{uint32_t(seed)};
    std::normal_distribution<float> noise(0.0f, 2.0f);
    std::vector<int32_t> history;
    std::string text;
    std::vector<float> logits(static_cast<size_t>(n));
    for (int step = 0; step < steps && !c.complete(); ++step) {
        if (check) check(text);
        for (int32_t i = 0; i < n; ++i) logits[size_t(i)] = noise(rng) + bias[size_t(i)];
        const int32_t id = sampler.sample(logits.data(), history, &c);
        if (tok.is_eog(id)) {
            ADD_FAILURE() << "end of generation before the constraint was complete: " << text;
            break;
        }
        c.accept(id);
        history.push_back(id);
        text += tok.token_to_piece(id, false);
    }
    return text;
}

// Logit biases towards the tokens whose piece is one of `pieces`.
inline std::vector<float> bias_towards(const Tokenizer& tok, const std::vector<std::string>& pieces, float b) {
    std::vector<float> bias(static_cast<size_t>(tok.n_vocab()), 0.0f);
    for (int32_t id = 0; id < tok.n_vocab(); ++id)
        for (const auto& p : pieces)
            if (tok.token_to_piece(id, false) == p) bias[size_t(id)] = b;
    return bias;
}

}  // namespace kinglet::test
