// rmsnorm_rows against rmsnorm row by row: bit-identical for every row count (whole groups of four and
// the rest), with and without a weight, in place and not.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "tensor/ops.h"

namespace kinglet {
namespace {

uint32_t bits(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}

TEST(RmsNormRows, EachRowBitIdenticalToRmsNorm) {
    std::mt19937 rng(5);
    std::normal_distribution<float> g(0.0f, 1.0f);
    for (int64_t n : {1, 7, 64, 576}) {
        std::vector<float> w(static_cast<size_t>(n));
        for (auto& v : w) v = g(rng);
        for (int64_t rows = 1; rows <= 9; ++rows) {
            std::vector<float> x(size_t(rows * n));
            // Rows of very different scales: the double sums must not be shared between rows.
            for (int64_t r = 0; r < rows; ++r)
                for (int64_t i = 0; i < n; ++i) x[size_t(r * n + i)] = g(rng) * float(1 << (3 * r));
            for (const float* wp : {static_cast<const float*>(nullptr), static_cast<const float*>(w.data())}) {
                std::vector<float> want(x.size()), got(x.size(), -1.0f), inplace = x;
                for (int64_t r = 0; r < rows; ++r) rmsnorm(&x[size_t(r * n)], wp, &want[size_t(r * n)], n, 1e-5f);
                rmsnorm_rows(x.data(), wp, got.data(), rows, n, 1e-5f);
                rmsnorm_rows(inplace.data(), wp, inplace.data(), rows, n, 1e-5f);
                for (size_t i = 0; i < x.size(); ++i) {
                    ASSERT_EQ(bits(got[i]), bits(want[i])) << "n " << n << " rows " << rows << " element " << i;
                    ASSERT_EQ(bits(inplace[i]), bits(want[i])) << "in place, n " << n << " rows " << rows << " element " << i;
                }
            }
        }
    }
}

}  // namespace
}  // namespace kinglet
