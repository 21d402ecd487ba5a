// Q2_K, Q3_K, IQ4_NL, IQ4_XS (types kinglet reads but does not write): dequantize_row against hand-built
// blocks decoded from the published layout, and against the dot products (which
// tests/model/lowbit_reference_test.cpp checks against llama.cpp): the dot of a weight row with Q8
// activations equals the double-precision sum of the dequantized values' products, to float rounding.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "core/error.h"
#include "tensor/dot.h"
#include "tensor/fp16.h"
#include "tensor/quant.h"

using namespace kinglet;

namespace {

const DType kLowbit[] = {DType::Q2_K, DType::Q3_K, DType::IQ4_NL, DType::IQ4_XS};

std::vector<float> dequant(DType t, const void* p, int64_t n) {
    std::vector<float> y(static_cast<size_t>(n));
    dequantize_row(t, p, y.data(), n);
    return y;
}

TEST(LowbitBlocks, HandBuiltBlocksDecode) {
    {   // IQ4_NL: d = 0.5; byte 0 = 0x1F: element 0 is level 15 (113), element 16 level 1 (-104).
        BlockIQ4_NL b{};
        b.d = fp32_to_fp16(0.5f);
        std::memset(b.qs, 0x88, sizeof b.qs);  // level 8 = 1 everywhere else
        b.qs[0] = 0x1F;
        const auto y = dequant(DType::IQ4_NL, &b, 32);
        EXPECT_EQ(y[0], 56.5f);
        EXPECT_EQ(y[16], -52.0f);
        EXPECT_EQ(y[1], 0.5f);
    }
    {   // IQ4_XS: d = 1; sub-block 3's scale: low nibble 0xA (high nibble of scales_l[1]), top bits 0b10
        // (bits 6-7 of scales_h) -> 0x2A = 42, minus 32 = 10. Its element 0 level 0 (-127).
        BlockIQ4_XS b{};
        b.d = fp32_to_fp16(1.0f);
        b.scales_h = uint16_t(2u << 6);
        b.scales_l[1] = 0xA0;
        std::memset(b.qs, 0x88, sizeof b.qs);
        b.qs[16 * 3] = 0x80;
        const auto y = dequant(DType::IQ4_XS, &b, 256);
        EXPECT_EQ(y[96], -1270.0f);
        EXPECT_EQ(y[97], 10.0f);
        EXPECT_EQ(y[0], -32.0f);  // sub-block 0: scale 0 - 32 = -32, level 1
    }
    {   // Q2_K: d = 2, dmin = 0.25; sub-block 5 (elements 80..95): scale 3, min 7. Element 80 is in the
        // first 128, group 2 (bits 4-5) of byte 16: level 2 -> 2 * 3 * 2 - 0.25 * 7.
        BlockQ2_K b{};
        b.d = fp32_to_fp16(2.0f);
        b.dmin = fp32_to_fp16(0.25f);
        b.scales[5] = 0x73;
        b.qs[16] = 2 << 4;
        const auto y = dequant(DType::Q2_K, &b, 256);
        EXPECT_EQ(y[80], 12.0f - 1.75f);
        EXPECT_EQ(y[81], -1.75f);
        EXPECT_EQ(y[0], 0.0f);
    }
    {   // Q3_K: d = 0.5; sub-block 13 (elements 208..223): low nibble = high nibble of scales[5] (0x9),
        // top bits = bits 6-7 of scales[9] (0b11) -> 0x39 = 57, minus 32 = 25. Element 208: second 128,
        // group 2 (bits 4-5) of byte 32 + 16 = 48: pair 1; high bit = bit 6 of hmask[16]: set -> level
        // 1 | 4 - 4 = 1.
        BlockQ3_K b{};
        b.d = fp32_to_fp16(0.5f);
        b.scales[5] = 0x90;
        b.scales[9] = 0xC0;
        b.qs[48] = 1 << 4;
        b.hmask[16] = 1 << 6;
        const auto y = dequant(DType::Q3_K, &b, 256);
        EXPECT_EQ(y[208], 12.5f);
        // Element 209: pair 0, high bit clear -> level -4.
        EXPECT_EQ(y[209], -50.0f);
        // Sub-block 0: scale 0 - 32; level -4: 0.5 * -32 * -4.
        EXPECT_EQ(y[0], 64.0f);
    }
}

// Random block bytes (every level and scale bit pattern) with moderate block scales.
std::vector<uint8_t> random_row(std::mt19937& rng, DType t, int64_t n) {
    std::vector<uint8_t> w(row_bytes(t, n));
    std::uniform_int_distribution<int> byte(0, 255);
    for (auto& b : w) b = uint8_t(byte(rng));
    std::uniform_real_distribution<float> sc(-0.1f, 0.1f);
    const size_t bb = dtype_info(t).block_bytes;
    for (size_t o = 0; o < w.size(); o += bb) {
        auto put = [&](size_t off) {
            const uint16_t h = fp32_to_fp16(sc(rng));
            std::memcpy(&w[o + off], &h, 2);
        };
        if (t == DType::Q2_K) put(80), put(82);
        else if (t == DType::Q3_K) put(108);
        else put(0);
    }
    return w;
}

TEST(LowbitBlocks, DotProductsAgreeWithDequantizedRows) {
    std::mt19937 rng(5);
    std::normal_distribution<float> g(0.0f, 1.0f);
    for (DType t : kLowbit) {
        const DType at = vec_dot_type(t);
        for (int64_t n : {256, 512, 2048}) {
            const auto w = random_row(rng, t, n);
            std::vector<float> x(static_cast<size_t>(n));
            for (auto& v : x) v = g(rng);
            std::vector<uint8_t> a(row_bytes(at, n));
            quantize_activation(at, x.data(), a.data(), n);
            const auto wd = dequant(t, w.data(), n), ad = dequant(at, a.data(), n);
            double want = 0, mag = 0;
            for (int64_t i = 0; i < n; ++i) {
                want += double(wd[i]) * double(ad[i]);
                mag += std::fabs(double(wd[i]) * double(ad[i]));
            }
            const float got = vec_dot_ref(t, n, w.data(), a.data());
            EXPECT_NEAR(got, want, 1e-5 * mag + 1e-6) << dtype_name(t) << " n " << n;
        }
    }
}

TEST(LowbitBlocks, ReadableButNotWritable) {
    std::vector<float> x(256, 1.0f);
    std::vector<uint8_t> buf(4096);
    for (DType t : kLowbit) {
        EXPECT_TRUE(can_dequantize(t)) << dtype_name(t);
        EXPECT_FALSE(can_quantize(t)) << dtype_name(t);
        EXPECT_TRUE(dtype_info(t).computable) << dtype_name(t);
        try {
            quantize_row(t, x.data(), buf.data(), 256);
            ADD_FAILURE() << "quantize_row accepted " << dtype_name(t);
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), Errc::unsupported);
            EXPECT_NE(std::string(e.what()).find(dtype_name(t)), std::string::npos) << e.what();
        }
    }
}

}  // namespace
