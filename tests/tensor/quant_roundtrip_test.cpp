// quantize_row -> dequantize_row stays within each type's error bound on every kind of edge row and
// at many magnitudes; zeros stay exact; unsupported types and bad sizes are clear errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/error.h"
#include "edge_rows.h"
#include "tensor/dot.h"
#include "tensor/quant.h"

using namespace kinglet;

namespace {

const DType kQuantTypes[] = {DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1, DType::Q8_0,
                             DType::Q8_1, DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::Q8_K};

// The error of rounding v to a half: half an ulp, or half the subnormal spacing 2^-24 near zero.
double half_err(double v) {
    return std::max(std::fabs(v) * 0x1p-11, 0x1p-25);
}

struct Stats {
    double amax = 0, min = 0, max = 0;
};
Stats stats(const float* x, int64_t n) {
    Stats s{0, x[0], x[0]};
    for (int64_t i = 0; i < n; ++i) {
        s.amax = std::max(s.amax, std::fabs(double{x[i]}));
        s.min = std::min(s.min, double{x[i]});
        s.max = std::max(s.max, double{x[i]});
    }
    return s;
}

// Largest |x - dequantized x| allowed in one block (32 or 256 elements) of type t.
//  - symmetric types map the largest magnitude to the extreme level: half a step of rounding, but a
//    full step for the one-sided clamp of Q4_0/Q5_0 (the opposite extreme lands on +8/+16 and is
//    clamped to +7/+15); plus the stored half scale's rounding times the largest level.
//  - Q4_1/Q5_1 span [min, max] with 16/32 levels; the half min adds its own rounding.
//  - the K-quants search their sub-block grids and may clip an outlier by about one step (of the
//    coarsest sub-block), and store sub-block scales in 6 (8 for Q6_K) bits: bound 1.5 steps.
double error_bound(DType t, const Stats& s) {
    const double A = s.amax, R = s.max - s.min, slack = 2e-7 * (A + R);
    switch (t) {
        case DType::Q8_0:
        case DType::Q8_1:
            return 0.5 * A / 127 + 127 * half_err(A / 127) + slack;
        // Float scale; its inverse 127 / amax overflows for float32 denormal rows, which become zero.
        case DType::Q8_K:
            return A < 1e-36 ? A : 0.5 * A / 127 + slack;
        case DType::Q4_0:
            return A / 8 + 8 * half_err(A / 8) + slack;
        case DType::Q5_0:
            return A / 16 + 16 * half_err(A / 16) + slack;
        case DType::Q4_1:
            return 0.5 * R / 15 + 15 * half_err(R / 15) + half_err(s.min) + slack;
        case DType::Q5_1:
            return 0.5 * R / 31 + 31 * half_err(R / 31) + half_err(s.min) + slack;
        case DType::Q4_K:
        case DType::Q5_K: {
            const int nmax = t == DType::Q4_K ? 15 : 31;
            const double span = std::max(s.max, 0.0) - std::min(s.min, 0.0);  // the min is never positive
            return 1.5 * span / nmax + 0x1p-10 * span + 63.0 * (nmax + 1) * 0x1p-24 + slack;
        }
        case DType::Q6_K:
            return 1.5 * A / 32 + 0x1p-10 * A + 127.0 * 32 * 0x1p-24 + slack;
        default:
            return 0;
    }
}

void check_round_trip(DType t, const std::vector<float>& x, const std::string& what) {
    const int64_t n = static_cast<int64_t>(x.size());
    std::vector<uint8_t> q(row_bytes(t, n));
    std::vector<float> y(x.size());
    quantize_row(t, x.data(), q.data(), n);
    dequantize_row(t, q.data(), y.data(), n);
    const int64_t bs = dtype_info(t).block_size;
    for (int64_t b = 0; b < n; b += bs) {
        const double bound = error_bound(t, stats(x.data() + b, bs));
        for (int64_t i = b; i < b + bs; ++i) {
            ASSERT_TRUE(std::isfinite(y[i])) << dtype_name(t) << " " << what << " element " << i;
            ASSERT_LE(std::fabs(double{x[i]} - y[i]), bound)
                << dtype_name(t) << " " << what << " element " << i << ": " << x[i] << " -> " << y[i];
        }
    }
}

TEST(QuantRoundTrip, EveryEdgeRowKindWithinTheTypesBound) {
    for (DType t : kQuantTypes)
        for (uint64_t r = 0; r < 4 * test::kEdgeRowKinds; ++r)
            check_round_trip(t, test::edge_row(r, 512),
                             "edge row kind " + std::to_string(r % test::kEdgeRowKinds));
}

TEST(QuantRoundTrip, ManyMagnitudesWithinTheTypesBound) {
    test::SplitMix64 rng(99);
    for (DType t : kQuantTypes) {
        for (float scale : {1e-7f, 1e-4f, 1e-2f, 1.0f, 1e2f, 1e3f}) {
            std::vector<float> x(1024);
            for (auto& v : x) v = rng.bell() * scale;
            check_round_trip(t, x, "scale " + std::to_string(scale));
            for (auto& v : x) v = -std::fabs(v);
            check_round_trip(t, x, "negative-only scale " + std::to_string(scale));
            for (auto& v : x) v = std::fabs(v) + scale;
            check_round_trip(t, x, "positive-only scale " + std::to_string(scale));
        }
    }
}

TEST(QuantRoundTrip, TypicalWeightsHaveSmallRmsError) {
    // On bell-shaped rows the RMS error is near the uniform-rounding value (step / sqrt(12)); allow
    // up to 0.45 of a step, far below what a wrong layout or scale search would give.
    test::SplitMix64 rng(5);
    std::vector<float> x(4096), y(4096);
    for (auto& v : x) v = rng.bell();
    for (DType t : kQuantTypes) {
        std::vector<uint8_t> q(row_bytes(t, 4096));
        quantize_row(t, x.data(), q.data(), 4096);
        dequantize_row(t, q.data(), y.data(), 4096);
        const int64_t bs = dtype_info(t).block_size;
        double se = 0, steps = 0;
        for (int64_t b = 0; b < 4096; b += bs) {
            const Stats s = stats(x.data() + b, bs);
            double step = 0;
            switch (t) {
                case DType::Q4_0:
                    step = s.amax / 8;
                    break;
                case DType::Q5_0:
                    step = s.amax / 16;
                    break;
                case DType::Q4_1:
                    step = (s.max - s.min) / 15;
                    break;
                case DType::Q5_1:
                    step = (s.max - s.min) / 31;
                    break;
                case DType::Q4_K:
                    step = (s.max - s.min) / 15;
                    break;
                case DType::Q5_K:
                    step = (s.max - s.min) / 31;
                    break;
                case DType::Q6_K:
                    step = s.amax / 32;
                    break;
                default:
                    step = s.amax / 127;
                    break;
            }
            for (int64_t i = b; i < b + bs; ++i) se += (double{x[i]} - y[i]) * (double{x[i]} - y[i]);
            steps += step * step * bs;
        }
        EXPECT_LT(std::sqrt(se / steps), 0.45) << dtype_name(t);
    }
}

TEST(QuantRoundTrip, ZerosStayExactlyZero) {
    std::vector<float> x(512, 0.0f), y(512, 1.0f);
    for (DType t : kQuantTypes) {
        std::vector<uint8_t> q(row_bytes(t, 512), 0xAB);
        quantize_row(t, x.data(), q.data(), 512);
        dequantize_row(t, q.data(), y.data(), 512);
        for (float v : y) ASSERT_EQ(v, 0.0f) << dtype_name(t);
    }
}

TEST(QuantErrors, UnsupportedTypesNameTheType) {
    std::vector<float> x(256, 1.0f), y(256);
    std::vector<uint8_t> buf(4096);
    for (DType t : {DType::IQ2_XXS, DType::IQ3_S, DType::TQ1_0, DType::MXFP4, DType::I8, DType::F64}) {
        EXPECT_FALSE(can_quantize(t));
        EXPECT_FALSE(can_dequantize(t));
        const std::string name = dtype_name(t);
        try {
            quantize_row(t, x.data(), buf.data(), 256);
            ADD_FAILURE() << "quantize_row accepted " << name;
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), Errc::unsupported);
            EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
        }
        try {
            dequantize_row(t, buf.data(), y.data(), 256);
            ADD_FAILURE() << "dequantize_row accepted " << name;
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), Errc::unsupported);
            EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
        }
        try {
            vec_dot_type(t);
            ADD_FAILURE() << "vec_dot_type accepted " << name;
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), Errc::unsupported);
            EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
        }
    }
    for (DType t : kQuantTypes) EXPECT_TRUE(can_quantize(t) && can_dequantize(t)) << dtype_name(t);
}

TEST(QuantErrors, RowsThatAreNotWholeBlocksAreRejected) {
    std::vector<float> x(300, 1.0f);
    std::vector<uint8_t> buf(4096);
    for (auto [t, n] : {std::pair{DType::Q4_K, int64_t{100}}, std::pair{DType::Q8_0, int64_t{33}}}) {
        try {
            quantize_row(t, x.data(), buf.data(), n);
            ADD_FAILURE() << "accepted " << n << " elements of " << dtype_name(t);
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), Errc::invalid_argument);
            EXPECT_NE(std::string(e.what()).find(dtype_name(t)), std::string::npos) << e.what();
        }
    }
}

}  // namespace
