// Comparison of kinglet's logits with a reference engine's top-10 (id, logit) pairs for one step, shared
// by the tests that check synthesized and llama.cpp-quantized files against llama.cpp
// (tests/model/arch_reference_test.cpp, lowbit_reference_test.cpp).
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

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

}  // namespace kinglet::test
