// fp16 and bf16 conversions against the hardware (F16C's vcvtph2ps / vcvtps2ph, which implement IEEE
// round-to-nearest-even), against hand-computed values, and exhaustively over all 16-bit patterns.
#include "tensor/fp16.h"

#include <gtest/gtest.h>
#include <immintrin.h>

#include <cmath>
#include <limits>
#include <vector>

#include "edge_rows.h"

using namespace kinglet;

namespace {

// The test binary is baseline x86-64; only these helpers use F16C, and only when the CPU has it.
__attribute__((target("f16c"))) float hw_half_to_float(uint16_t h) {
    return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h)));
}
__attribute__((target("f16c"))) uint16_t hw_float_to_half(float f) {
    return static_cast<uint16_t>(
        _mm_extract_epi16(_mm_cvtps_ph(_mm_set_ss(f), _MM_FROUND_TO_NEAREST_INT), 0));
}
bool have_f16c() {
    return __builtin_cpu_supports("f16c");
}

bool is_nan16(uint16_t h) {
    return (h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0;
}

// Compares our fp32->fp16 with the hardware for f. NaN is the one documented difference: ggml (and
// kinglet) write the canonical quiet NaN 0x7e00 with the input's sign; F16C keeps the payload's top bits.
void expect_same_as_hardware(float f) {
    const uint16_t ours = fp32_to_fp16(f);
    if (std::isnan(f)) {
        EXPECT_EQ(ours, (fp32_to_bits(f) >> 16 & 0x8000) | 0x7e00);
        EXPECT_TRUE(is_nan16(hw_float_to_half(f)));
        return;
    }
    ASSERT_EQ(ours, hw_float_to_half(f)) << "f = " << f << " bits 0x" << std::hex << fp32_to_bits(f);
}

TEST(Fp16, EveryHalfDecodesLikeF16C) {
    if (!have_f16c()) GTEST_SKIP() << "CPU lacks F16C";
    for (uint32_t h = 0; h < 65536; ++h) {
        const float ours = fp16_to_fp32(static_cast<uint16_t>(h));
        const float hw = hw_half_to_float(static_cast<uint16_t>(h));
        ASSERT_EQ(fp32_to_bits(ours), fp32_to_bits(hw)) << "h = 0x" << std::hex << h;
    }
}

TEST(Fp16, TableMatchesConversionForEveryHalf) {
    const float* t = fp16_table();
    for (uint32_t h = 0; h < 65536; ++h)
        ASSERT_EQ(fp32_to_bits(t[h]), fp32_to_bits(fp16_to_fp32(static_cast<uint16_t>(h)))) << h;
    EXPECT_EQ(fp16_to_fp32_fast(0x3c00), 1.0f);
}

TEST(Fp16, EveryHalfRoundTripsExactly) {
    for (uint32_t h = 0; h < 65536; ++h) {
        const uint16_t back = fp32_to_fp16(fp16_to_fp32(static_cast<uint16_t>(h)));
        if (is_nan16(static_cast<uint16_t>(h))) {
            EXPECT_EQ(back, (h & 0x8000) | 0x7e00);
        } else {
            ASSERT_EQ(back, h) << "h = 0x" << std::hex << h;
        }
    }
}

TEST(Fp16, HandComputedValues) {
    EXPECT_EQ(fp16_to_fp32(0x3c00), 1.0f);
    EXPECT_EQ(fp16_to_fp32(0xc000), -2.0f);
    EXPECT_EQ(fp16_to_fp32(0x7bff), 65504.0f);
    EXPECT_EQ(fp16_to_fp32(0x0001), std::ldexp(1.0f, -24));     // smallest subnormal
    EXPECT_EQ(fp16_to_fp32(0x03ff), std::ldexp(1023.0f, -24));  // largest subnormal
    EXPECT_EQ(fp16_to_fp32(0x0400), std::ldexp(1.0f, -14));     // smallest normal
    EXPECT_TRUE(std::isinf(fp16_to_fp32(0x7c00)));
    EXPECT_TRUE(std::signbit(fp16_to_fp32(0x8000)));

    EXPECT_EQ(fp32_to_fp16(1.0f), 0x3c00);
    EXPECT_EQ(fp32_to_fp16(-0.0f), 0x8000);
    EXPECT_EQ(fp32_to_fp16(0.1f), 0x2e66);  // 0.1 = 0x1.99999ap-4 -> 0x1.998p-4
    // Ties go to the even significand: 1 + 2^-11 is halfway between 1 and 1 + 2^-10.
    EXPECT_EQ(fp32_to_fp16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);
    EXPECT_EQ(fp32_to_fp16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);
    EXPECT_EQ(fp32_to_fp16(1.0f + std::ldexp(1.0f, -11) + std::ldexp(1.0f, -20)), 0x3c01);
    // Overflow: 65504 is the largest half; 65520 is the tie with 65536 (odd 0x3ff) and becomes inf.
    EXPECT_EQ(fp32_to_fp16(65504.0f), 0x7bff);
    EXPECT_EQ(fp32_to_fp16(65519.996f), 0x7bff);
    EXPECT_EQ(fp32_to_fp16(65520.0f), 0x7c00);
    EXPECT_EQ(fp32_to_fp16(1e10f), 0x7c00);
    EXPECT_EQ(fp32_to_fp16(-1e10f), 0xfc00);
    EXPECT_EQ(fp32_to_fp16(std::numeric_limits<float>::infinity()), 0x7c00);
    // Subnormals: 2^-25 is the tie between 0 and 2^-24 (goes to 0, even); just above it rounds up;
    // 3 * 2^-25 ties between 1 and 2 units and goes to 2.
    EXPECT_EQ(fp32_to_fp16(std::ldexp(1.0f, -25)), 0x0000);
    EXPECT_EQ(fp32_to_fp16(std::nextafter(std::ldexp(1.0f, -25), 1.0f)), 0x0001);
    EXPECT_EQ(fp32_to_fp16(3 * std::ldexp(1.0f, -25)), 0x0002);
    EXPECT_EQ(fp32_to_fp16(std::ldexp(1.0f, -26)), 0x0000);
    EXPECT_EQ(fp32_to_fp16(-std::ldexp(1.0f, -30)), 0x8000);
    EXPECT_EQ(fp32_to_fp16(std::numeric_limits<float>::denorm_min()), 0x0000);
    // The largest subnormal rounds up into the smallest normal.
    EXPECT_EQ(fp32_to_fp16(std::ldexp(1023.75f, -24)), 0x0400);
    EXPECT_EQ(fp32_to_fp16(std::numeric_limits<float>::quiet_NaN()), 0x7e00);
    EXPECT_EQ(fp32_to_fp16(-std::numeric_limits<float>::quiet_NaN()), 0xfe00);
}

TEST(Fp16, RoundingMatchesF16CAtEveryTieAndNeighbour) {
    if (!have_f16c()) GTEST_SKIP() << "CPU lacks F16C";
    // For each pair of adjacent halves (both signs, through the subnormals and up to infinity): the
    // exact midpoint, the floats just around it, and the halves themselves.
    for (uint32_t h = 0; h < 0x7c00; ++h) {
        const double lo = fp16_to_fp32(static_cast<uint16_t>(h));
        const double hi = fp16_to_fp32(static_cast<uint16_t>(h + 1));  // 0x7c00 is inf: handled below
        for (float sign : {1.0f, -1.0f}) {
            const float f_lo = sign * static_cast<float>(lo);
            expect_same_as_hardware(f_lo);
            if (h + 1 < 0x7c00) {
                const float mid = sign * static_cast<float>((lo + hi) / 2);  // exact in float
                expect_same_as_hardware(mid);
                expect_same_as_hardware(std::nextafter(mid, 0.0f));
                expect_same_as_hardware(std::nextafter(mid, sign * 1e30f));
            }
        }
    }
    // Around the overflow threshold and beyond.
    for (float f = 65504.0f; f < 65600.0f; f = std::nextafter(f, 1e30f)) {
        expect_same_as_hardware(f);
        expect_same_as_hardware(-f);
    }
    for (float f :
         {1e5f, 3.4e38f, std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN(),
          std::numeric_limits<float>::signaling_NaN(), std::numeric_limits<float>::denorm_min(), 1e-40f}) {
        expect_same_as_hardware(f);
        expect_same_as_hardware(-f);
    }
}

TEST(Fp16, RandomFloatsRoundLikeF16C) {
    if (!have_f16c()) GTEST_SKIP() << "CPU lacks F16C";
    test::SplitMix64 rng(42);
    for (int i = 0; i < 2'000'000; ++i) {
        // Random bit patterns, biased toward the exponents where halves live.
        uint32_t bits = static_cast<uint32_t>(rng.next());
        if (i % 2) bits = (bits & 0x80ffffff) | ((100 + (bits >> 24) % 50) << 23);
        expect_same_as_hardware(fp32_from_bits(bits));
    }
}

// An independent bf16 reference: the nearest of the two bfloat16 neighbours in double, ties to even.
uint16_t bf16_reference(float f) {
    const uint32_t u = fp32_to_bits(f);
    const uint16_t down = static_cast<uint16_t>(u >> 16);  // truncation toward zero (same sign)
    if ((u & 0xffff) == 0) return down;
    const uint16_t up = static_cast<uint16_t>(down + 1);  // next magnitude up (may become inf)
    const double a = std::fabs(static_cast<double>(f));
    // Past the largest finite value IEEE rounds as if the exponent were unbounded: inf stands for 2^128.
    const double up_value =
        (up & 0x7fff) == 0x7f80 ? std::ldexp(1.0, 128) : std::fabs(double{bf16_to_fp32(up)});
    const double d_down = a - std::fabs(static_cast<double>(bf16_to_fp32(down)));
    const double d_up = up_value - a;
    if (d_down < d_up) return down;
    if (d_up < d_down) return up;
    return (down & 1) ? up : down;
}

TEST(Bf16, EveryPatternRoundTrips) {
    for (uint32_t h = 0; h < 65536; ++h) {
        const float f = bf16_to_fp32(static_cast<uint16_t>(h));
        ASSERT_EQ(fp32_to_bits(f), h << 16);
        const uint16_t back = fp32_to_bf16(f);
        if (std::isnan(f)) {
            EXPECT_TRUE(std::isnan(bf16_to_fp32(back)));
            EXPECT_EQ(back & 0x8000, h & 0x8000);
            EXPECT_TRUE(back & 0x40) << "NaN must come back quiet";
        } else {
            ASSERT_EQ(back, h);
        }
    }
}

TEST(Bf16, RoundsToNearestEven) {
    EXPECT_EQ(fp32_to_bf16(1.0f), 0x3f80);
    EXPECT_EQ(fp32_to_bf16(fp32_from_bits(0x3f808000)), 0x3f80);  // tie, even stays
    EXPECT_EQ(fp32_to_bf16(fp32_from_bits(0x3f818000)), 0x3f82);  // tie, odd rounds up
    EXPECT_EQ(fp32_to_bf16(fp32_from_bits(0x3f808001)), 0x3f81);
    EXPECT_EQ(fp32_to_bf16(fp32_from_bits(0x7f7fffff)), 0x7f80);  // FLT_MAX rounds to inf
    EXPECT_EQ(fp32_to_bf16(fp32_from_bits(0x7f800001)), 0x7fc0);  // signalling NaN comes out quiet
    test::SplitMix64 rng(7);
    for (int i = 0; i < 2'000'000; ++i) {
        const float f = fp32_from_bits(static_cast<uint32_t>(rng.next()));
        if (std::isnan(f)) continue;
        ASSERT_EQ(fp32_to_bf16(f), bf16_reference(f)) << std::hex << fp32_to_bits(f);
    }
    for (uint32_t h = 0; h < 0x7f80; ++h) {  // every tie and its neighbours
        const float mid = fp32_from_bits((h << 16) | 0x8000);
        for (float f : {mid, std::nextafter(mid, 0.0f), std::nextafter(mid, 1e38f), -mid})
            ASSERT_EQ(fp32_to_bf16(f), bf16_reference(f)) << std::hex << fp32_to_bits(f);
    }
}

}  // namespace
