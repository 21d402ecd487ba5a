// vec_dot_ref against a float64 dot product of the weights and activations as the independent layout
// decoder reads them: both are exact integer sums scaled by the blocks' scales, so they agree to float
// rounding, for every type, with one block, a few, and many.
#include "tensor/dot.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "block_decode.h"
#include "core/error.h"
#include "edge_rows.h"
#include "tensor/fp16.h"
#include "tensor/quant.h"

using namespace kinglet;

namespace {

const DType kWeightTypes[] = {DType::F32,  DType::F16,  DType::BF16, DType::Q4_0, DType::Q4_1, DType::Q5_0,
                              DType::Q5_1, DType::Q8_0, DType::Q4_K, DType::Q5_K, DType::Q6_K};

// The row's elements as doubles, decoded without kinglet's code.
std::vector<double> reference_values(DType t, const std::vector<uint8_t>& data, int64_t n) {
    std::vector<double> v(static_cast<size_t>(n));
    switch (t) {
        case DType::F32:
            for (int64_t i = 0; i < n; ++i) {
                float f;
                std::memcpy(&f, data.data() + 4 * i, 4);
                v[i] = f;
            }
            return v;
        case DType::F16:
            for (int64_t i = 0; i < n; ++i) v[i] = test::half_value(data.data() + 2 * i);
            return v;
        case DType::BF16:
            for (int64_t i = 0; i < n; ++i) {
                const uint32_t bits = (data[2 * i] | (data[2 * i + 1] << 8)) << 16;
                float f;
                std::memcpy(&f, &bits, 4);
                v[i] = f;
            }
            return v;
        default:
            return test::decode_row(t, data.data(), n);
    }
}

struct Expected {
    double value = 0;
    double abs_sum = 0;  // sum of |terms|, the scale of the rounding error
};

Expected reference_dot(DType wt, const std::vector<uint8_t>& w, const std::vector<uint8_t>& a, int64_t n) {
    const DType at = vec_dot_type(wt);
    const auto wv = reference_values(wt, w, n);
    const auto av = reference_values(at, a, n);
    Expected e;
    if (at != DType::Q8_1) {
        for (int64_t i = 0; i < n; ++i) {
            e.value += wv[i] * av[i];
            e.abs_sum += std::fabs(wv[i] * av[i]);
        }
        return e;
    }
    // Q4_1 / Q5_1 against Q8_1: a weight is q d + m, and the dot takes the activation block's sum from
    // the block's s field (fp16 of d * sum of levels), not from the levels themselves.
    const size_t wbb = dtype_info(wt).block_bytes;
    for (int64_t b = 0; b < n / 32; ++b) {
        const double m = test::half_value(w.data() + b * wbb + 2);
        const double s = test::half_value(a.data() + b * 36 + 2);
        for (int64_t i = 32 * b; i < 32 * b + 32; ++i) {
            e.value += (wv[i] - m) * av[i];
            e.abs_sum += std::fabs((wv[i] - m) * av[i]);
        }
        e.value += m * s;
        e.abs_sum += std::fabs(m * s);
    }
    return e;
}

void check_dot(DType wt, const std::vector<float>& wf, const std::vector<float>& af, const char* what) {
    const int64_t n = static_cast<int64_t>(wf.size());
    const DType at = vec_dot_type(wt);
    std::vector<uint8_t> w(row_bytes(wt, n)), a(row_bytes(at, n));
    quantize_row(wt, wf.data(), w.data(), n);
    quantize_activation(at, af.data(), a.data(), n);
    const Expected e = reference_dot(wt, w, a, n);
    const double got = vec_dot_ref(wt, n, w.data(), a.data());
    // Float rounding only: each block's scaled integer sum rounds a couple of times, then the blocks
    // are summed in float (n/block terms).
    const double blocks = static_cast<double>(n / dtype_info(wt).block_size);
    const double tol = (4 + blocks) * 1.2e-7 * e.abs_sum + 1e-30;
    EXPECT_NEAR(got, e.value, tol) << dtype_name(wt) << " n=" << n << " " << what;
}

TEST(VecDotRef, AgreesWithFloat64OnDecodedOperands) {
    test::SplitMix64 rng(2024);
    for (DType wt : kWeightTypes) {
        const int64_t bs =
            std::max<int64_t>(dtype_info(wt).block_size, dtype_info(vec_dot_type(wt)).block_size);
        for (int64_t nb : {1, 3, 16}) {
            const int64_t n = nb * std::max<int64_t>(bs, 32);
            std::vector<float> w(n), a(n);
            for (auto& v : w) v = rng.bell() * 0.1f;
            for (auto& v : a) v = rng.bell() * 3.0f;
            check_dot(wt, w, a, "bell");
            for (auto& v : w) v = std::fabs(v) + 0.05f;  // one-signed weights: a large min/offset term
            check_dot(wt, w, a, "positive weights");
        }
    }
}

TEST(VecDotRef, EdgeRowsAsWeightsAndActivations) {
    for (DType wt : kWeightTypes) {
        for (uint64_t r = 0; r < test::kEdgeRowKinds; ++r) {
            const auto w = test::edge_row(r, 512);
            const uint64_t ar = r + 5;
            // Q8_1 keeps d * (sum of levels) as fp16, which overflows for the huge row (|x| ~ 1e4): that
            // is ggml's format limit, not a rounding question, so that pairing is left out.
            if (vec_dot_type(wt) == DType::Q8_1 && ar % test::kEdgeRowKinds == 8) continue;
            const auto a = test::edge_row(ar, 512);
            check_dot(wt, w, a, "edge rows");
        }
    }
}

TEST(VecDotRef, ActivationFormatsCarryConsistentSums) {
    test::SplitMix64 rng(3);
    std::vector<float> x(512);
    for (auto& v : x) v = rng.bell();
    std::vector<BlockQ8_1> q1(512 / 32);
    quantize_row_q8_1(x.data(), q1.data(), 512);
    for (size_t i = 0; i < q1.size(); ++i) {
        // ggml's definition: s = fp16(sum of levels * d), with d = amax / 127 before its own rounding.
        float amax = 0;
        for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[32 * i + j]));
        int sum = 0;
        for (int8_t q : q1[i].qs) sum += q;
        EXPECT_EQ(q1[i].d, fp32_to_fp16(amax / 127));
        EXPECT_EQ(q1[i].s, fp32_to_fp16(static_cast<float>(sum) * (amax / 127)));
    }
    std::vector<BlockQ8_K> qk(2);
    quantize_row_q8_K(x.data(), qk.data(), 512);
    for (const auto& b : qk) {
        for (int j = 0; j < 16; ++j) {
            int sum = 0;
            for (int l = 0; l < 16; ++l) sum += b.qs[16 * j + l];
            EXPECT_EQ(b.bsums[j], sum);
        }
        for (int8_t q : b.qs) EXPECT_GE(q, -127);  // Q8_K uses the symmetric range
    }
    std::vector<BlockQ8_0> q0(512 / 32);
    quantize_row_q8_0(x.data(), q0.data(), 512);
    std::vector<uint8_t> via_dispatch(row_bytes(DType::Q8_0, 512));
    quantize_activation(DType::Q8_0, x.data(), via_dispatch.data(), 512);
    EXPECT_EQ(std::memcmp(q0.data(), via_dispatch.data(), via_dispatch.size()), 0);
}

TEST(VecDotRef, PairsLikeGgml) {
    EXPECT_EQ(vec_dot_type(DType::F32), DType::F32);
    EXPECT_EQ(vec_dot_type(DType::F16), DType::F16);
    EXPECT_EQ(vec_dot_type(DType::BF16), DType::BF16);
    EXPECT_EQ(vec_dot_type(DType::Q4_0), DType::Q8_0);
    EXPECT_EQ(vec_dot_type(DType::Q5_0), DType::Q8_0);
    EXPECT_EQ(vec_dot_type(DType::Q8_0), DType::Q8_0);
    EXPECT_EQ(vec_dot_type(DType::Q4_1), DType::Q8_1);
    EXPECT_EQ(vec_dot_type(DType::Q5_1), DType::Q8_1);
    EXPECT_EQ(vec_dot_type(DType::Q4_K), DType::Q8_K);
    EXPECT_EQ(vec_dot_type(DType::Q5_K), DType::Q8_K);
    EXPECT_EQ(vec_dot_type(DType::Q6_K), DType::Q8_K);
}

TEST(VecDotRef, RejectsPartialBlocks) {
    std::vector<uint8_t> buf(4096);
    try {
        vec_dot_ref(DType::Q4_K, 128, buf.data(), buf.data());
        ADD_FAILURE() << "accepted half a super-block";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), Errc::invalid_argument);
    }
}

}  // namespace
