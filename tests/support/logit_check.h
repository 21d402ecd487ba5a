// Comparison of kinglet's logits with a reference engine's top-10 (id, logit) pairs for one step, shared
// by the tests that check synthesized and llama.cpp-quantized files against llama.cpp
// (tests/model/arch_reference_test.cpp, lowbit_reference_test.cpp).
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "core/thread_pool.h"
#include "model/forward.h"

namespace kinglet::test {

using Top = std::vector<std::pair<int32_t, float>>;

// The steps of a JSON array of [[id, logit], ...] lists.
inline std::vector<Top> tops(const nlohmann::json& steps) {
    std::vector<Top> out;
    for (const auto& s : steps) {
        Top t;
        for (const auto& p : s) t.emplace_back(p.at(0).get<int32_t>(), p.at(1).get<float>());
        out.push_back(std::move(t));
    }
    return out;
}

// Every reference logit within tol of kinglet's logit for that id, and kinglet's top token equal to
// the reference's wherever the reference's top-1 margin is at least 2 x tol. Returns the largest
// difference.
inline float compare_top(const std::string& what, const std::vector<float>& logits, const Top& ref,
                         float tol) {
    float worst = 0;
    for (const auto& [id, v] : ref) {
        const float d = std::abs(logits[size_t(id)] - v);
        worst = std::max(worst, d);
        EXPECT_LE(d, tol) << what << ": token " << id << " kinglet " << logits[size_t(id)] << " llama.cpp "
                          << v;
    }
    const float margin = ref[0].second - ref[1].second;
    const int32_t arg = int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
    if (margin >= 2 * tol) {
        EXPECT_EQ(arg, ref[0].first) << what << ": top token differs (llama.cpp's margin " << margin << ")";
    }
    return worst;
}

// Runs `model` on a reference file's tokens and compares every step with compare_top: the prompt
// (prompt_ids) as one prefill batch spanning several KV blocks, then the reference's greedy ids
// (greedy_ids) one decode step at a time, teacher-forced so that a near tie cannot make the paths
// diverge; F16 KV cache, the context n_ctx. Prints and returns the largest difference.
inline float check_reference_run(const Model& model, const nlohmann::json& ref, float tol, const std::string& name) {
    const HParams& hp = model.hparams();
    const auto prompt = ref.at("prompt_ids").get<std::vector<int32_t>>();
    const auto greedy = ref.at("greedy_ids").get<std::vector<int32_t>>();
    const std::vector<Top> prompt_top = tops(ref.at("prompt_top10")), greedy_top = tops(ref.at("greedy_top10"));

    constexpr int kBlockTokens = 16;
    const int n_blocks = int(prompt.size() + greedy.size()) / kBlockTokens + 1;
    KvCache kv(hp, DType::F16, n_blocks, kBlockTokens);
    ThreadPool pool(2);
    Forward fwd(model, kv, pool, int(prompt.size()), ref.at("n_ctx").get<int>());
    std::vector<int32_t> table(n_blocks);
    std::iota(table.begin(), table.end(), 0);

    Batch b;
    b.seqs.push_back({table.data(), n_blocks});
    for (size_t i = 0; i < prompt.size(); ++i) b.add(prompt[i], int32_t(i), 0, true);
    std::vector<float> logits(prompt.size() * size_t(hp.n_vocab));
    fwd.run(b, logits.data());
    float worst = 0;
    for (size_t i = 0; i < prompt.size(); ++i) {
        std::vector<float> row(logits.begin() + i * hp.n_vocab, logits.begin() + (i + 1) * hp.n_vocab);
        worst = std::max(worst, compare_top(name + " prompt position " + std::to_string(i), row, prompt_top[i], tol));
    }
    std::vector<float> row(hp.n_vocab);
    for (size_t s = 0; s < greedy.size(); ++s) {
        b.clear();
        b.seqs.push_back({table.data(), n_blocks});
        b.add(greedy[s], int32_t(prompt.size() + s), 0, true);
        fwd.run(b, row.data());
        worst = std::max(worst, compare_top(name + " decode step " + std::to_string(s), row, greedy_top[s], tol));
    }
    std::printf("[ %s ] largest top-10 logit difference from llama.cpp: %.5f\n", name.c_str(), worst);
    return worst;
}

}  // namespace kinglet::test
