// dequantize_row against hand-built blocks and an independent layout decoder; quantize -> dequantize
// round trips within each type's error bound; unsupported types and bad sizes are clear errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include "block_decode.h"
#include "core/error.h"
#include "edge_rows.h"
#include "tensor/fp16.h"
#include "tensor/quant.h"

using namespace kinglet;

namespace {

const DType kBlockTypes[] = {DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1, DType::Q8_0,
                             DType::Q8_1, DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::Q8_K};

void put_half(uint8_t* p, uint16_t h) {
    p[0] = static_cast<uint8_t>(h);
    p[1] = static_cast<uint8_t>(h >> 8);
}

std::vector<float> dequant(DType t, const std::vector<uint8_t>& blocks, int64_t n) {
    std::vector<float> y(static_cast<size_t>(n));
    dequantize_row(t, blocks.data(), y.data(), n);
    return y;
}

// The structs in dtype.h must put every field where the byte-level layout (block_decode.h) says.
TEST(BlockLayout, FieldOffsetsMatchTheGgmlLayout) {
    EXPECT_EQ(offsetof(BlockQ4_0, qs), 2u);
    EXPECT_EQ(offsetof(BlockQ4_1, m), 2u);
    EXPECT_EQ(offsetof(BlockQ4_1, qs), 4u);
    EXPECT_EQ(offsetof(BlockQ5_0, qh), 2u);
    EXPECT_EQ(offsetof(BlockQ5_0, qs), 6u);
    EXPECT_EQ(offsetof(BlockQ5_1, qh), 4u);
    EXPECT_EQ(offsetof(BlockQ5_1, qs), 8u);
    EXPECT_EQ(offsetof(BlockQ8_0, qs), 2u);
    EXPECT_EQ(offsetof(BlockQ8_1, s), 2u);
    EXPECT_EQ(offsetof(BlockQ8_1, qs), 4u);
    EXPECT_EQ(offsetof(BlockQ4_K, dmin), 2u);
    EXPECT_EQ(offsetof(BlockQ4_K, scales), 4u);
    EXPECT_EQ(offsetof(BlockQ4_K, qs), 16u);
    EXPECT_EQ(offsetof(BlockQ5_K, qh), 16u);
    EXPECT_EQ(offsetof(BlockQ5_K, qs), 48u);
    EXPECT_EQ(offsetof(BlockQ6_K, qh), 128u);
    EXPECT_EQ(offsetof(BlockQ6_K, scales), 192u);
    EXPECT_EQ(offsetof(BlockQ6_K, d), 208u);
    EXPECT_EQ(offsetof(BlockQ8_K, qs), 4u);
    EXPECT_EQ(offsetof(BlockQ8_K, bsums), 260u);
    EXPECT_EQ(offsetof(BlockQ2_K, d), 80u);
    EXPECT_EQ(offsetof(BlockQ3_K, d), 108u);
    for (DType t : kBlockTypes) EXPECT_EQ(row_bytes(t, dtype_info(t).block_size), dtype_info(t).block_bytes);
}

// ---- hand-built blocks: a few elements set to values worked out by hand from the layout ----------

TEST(Dequantize, HandBuiltQ4_0) {
    std::vector<uint8_t> b(18, 0x88);  // every level 8, i.e. 0
    put_half(b.data(), 0x3800);        // d = 0.5
    b[2 + 0] = 0x1F;                   // element 0: level 15 -> 7 * 0.5; element 16: level 1 -> -7 * 0.5
    const auto y = dequant(DType::Q4_0, b, 32);
    EXPECT_EQ(y[0], 3.5f);
    EXPECT_EQ(y[16], -3.5f);
    EXPECT_EQ(y[1], 0.0f);
    EXPECT_EQ(y[31], 0.0f);
}

TEST(Dequantize, HandBuiltQ4_1) {
    std::vector<uint8_t> b(20, 0);
    put_half(b.data(), 0x3c00);      // d = 1
    put_half(b.data() + 2, 0xbc00);  // m = -1
    b[4 + 3] = 0xA2;                 // element 3: 2*1 - 1; element 19: 10*1 - 1
    const auto y = dequant(DType::Q4_1, b, 32);
    EXPECT_EQ(y[3], 1.0f);
    EXPECT_EQ(y[19], 9.0f);
    EXPECT_EQ(y[0], -1.0f);
}

TEST(Dequantize, HandBuiltQ5_0) {
    std::vector<uint8_t> b(22, 0);
    put_half(b.data(), 0x3400);  // d = 0.25
    b[2] = 0x20;                 // high bit of element 5 (bit 5 of the mask)
    b[4] = 0x10;                 // high bit of element 20 (bit 20)
    b[6 + 5] = 0x3C;             // element 5: low 12 | 16 = 28 -> 12 * 0.25; element 21: 3 -> -13 * 0.25
    const auto y = dequant(DType::Q5_0, b, 32);
    EXPECT_EQ(y[5], 3.0f);
    EXPECT_EQ(y[21], -3.25f);
    EXPECT_EQ(y[20], 0.0f);  // level 0 | 16 = 16 -> 0
    EXPECT_EQ(y[4], -4.0f);  // level 0 -> -16 * 0.25
}

TEST(Dequantize, HandBuiltQ5_1) {
    std::vector<uint8_t> b(24, 0);
    put_half(b.data(), 0x4000);      // d = 2
    put_half(b.data() + 2, 0x3c00);  // m = 1
    b[4 + 3] = 0x80;                 // high bit of element 31
    b[8 + 15] = 0xF1;                // element 15: 1 -> 3; element 31: 15 | 16 = 31 -> 63
    const auto y = dequant(DType::Q5_1, b, 32);
    EXPECT_EQ(y[15], 3.0f);
    EXPECT_EQ(y[31], 63.0f);
}

TEST(Dequantize, HandBuiltQ8_0AndQ8_1) {
    std::vector<uint8_t> b(34, 0);
    put_half(b.data(), 0x3c00);
    b[2 + 7] = static_cast<uint8_t>(-5);
    b[2 + 31] = 127;
    auto y = dequant(DType::Q8_0, b, 32);
    EXPECT_EQ(y[7], -5.0f);
    EXPECT_EQ(y[31], 127.0f);
    std::vector<uint8_t> c(36, 0);
    put_half(c.data(), 0x3800);      // d = 0.5
    put_half(c.data() + 2, 0x7bff);  // s is not an element
    c[4] = static_cast<uint8_t>(-128);
    y = dequant(DType::Q8_1, c, 32);
    EXPECT_EQ(y[0], -64.0f);
    EXPECT_EQ(y[1], 0.0f);
}

TEST(Dequantize, HandBuiltQ4_K) {
    std::vector<uint8_t> b(144, 0);
    put_half(b.data(), 0x3c00);      // d = 1
    put_half(b.data() + 2, 0x3800);  // dmin = 0.5
    uint8_t* sc = b.data() + 4;
    sc[0] = 2;        // sub-block 0: scale 2
    sc[4] = 3;        //              min 3
    sc[9] = 0x35;     // sub-block 5: scale low nibble 5, min low nibble 3
    sc[1] |= 2 << 6;  // sub-block 5: scale top bits 2 -> scale 0x25 = 37 (sub-block 1's stays 0)
    sc[5] |= 1 << 6;  // sub-block 5: min top bits 1 -> min 0x13 = 19
    uint8_t* qs = b.data() + 16;
    qs[0] = 0x07;       // element 0 (sub-block 0): level 7
    qs[64 + 3] = 0x90;  // element 128 + 32 + 3 = 163 (sub-block 5): level 9
    const auto y = dequant(DType::Q4_K, b, 256);
    EXPECT_EQ(y[0], 1 * 2 * 7 - 0.5f * 3);      // 12.5
    EXPECT_EQ(y[163], 1 * 37 * 9 - 0.5f * 19);  // 323.5
    EXPECT_EQ(y[40], 0.0f);                     // sub-block 1: scale 0, min 0 (top bits are not its)
    EXPECT_EQ(y[1], -1.5f);                     // level 0 in sub-block 0
}

TEST(Dequantize, HandBuiltQ5_K) {
    std::vector<uint8_t> b(176, 0);
    put_half(b.data(), 0x3400);      // d = 0.25
    put_half(b.data() + 2, 0x3c00);  // dmin = 1
    b[4 + 3] = 10;                   // sub-block 3: scale 10
    b[4 + 7] = 4;                    //              min 4
    b[16 + 4] = 1 << 3;              // qh[4] bit 3 = high bit of element 64 + 32 + 4 = 100
    b[48 + 32 + 4] = 0x60;           // element 100: high nibble of qs[32 + 4] = 6
    const auto y = dequant(DType::Q5_K, b, 256);
    EXPECT_EQ(y[100], 0.25f * 10 * (6 + 16) - 1 * 4);  // 51
    EXPECT_EQ(y[101], -4.0f);
}

TEST(Dequantize, HandBuiltQ6_K) {
    std::vector<uint8_t> b(210, 0);
    put_half(b.data() + 208, 0x3800);       // d = 0.5
    b[192 + 0] = static_cast<uint8_t>(-3);  // scale of elements 0-15
    b[192 + 12] = 127;                      // scale of elements 192-207
    b[0] = 0x05;                            // element 0: low nibble 5
    b[128 + 0] = 0x02;                      //            bits 4-5 = 2 -> 37 - 32 = 5
    b[64 + 8 + 0] = 0xF0;                   // element 128 + 64 + 8 = 200: high nibble of ql[64 + 8] = 15
    b[128 + 32 + 8] = 0x30;                 //            bits 4-5 from qh[32 + 8] bits 4-5 = 3 -> 63 - 32
    const auto y = dequant(DType::Q6_K, b, 256);
    EXPECT_EQ(y[0], 0.5f * -3 * 5);      // -7.5
    EXPECT_EQ(y[200], 0.5f * 127 * 31);  // 1968.5
    EXPECT_EQ(y[1], 0.5f * -3 * -32);    // all-zero bits are level -32
}

TEST(Dequantize, HandBuiltQ8_K) {
    std::vector<uint8_t> b(292, 0);
    const float d = 0.125f;
    std::memcpy(b.data(), &d, 4);
    b[4 + 255] = static_cast<uint8_t>(-128);
    const auto y = dequant(DType::Q8_K, b, 256);
    EXPECT_EQ(y[255], -16.0f);
    EXPECT_EQ(y[0], 0.0f);
}

TEST(Dequantize, FloatFormats) {
    const float x[4] = {1.0f, -2.5f, 65504.0f, 1e-8f};
    uint16_t h[4];
    quantize_row(DType::F16, x, h, 4);
    EXPECT_EQ(h[0], 0x3c00);
    EXPECT_EQ(h[1], 0xc100);
    EXPECT_EQ(h[2], 0x7bff);
    float y[4];
    dequantize_row(DType::F16, h, y, 4);
    EXPECT_EQ(y[1], -2.5f);
    quantize_row(DType::BF16, x, h, 4);
    EXPECT_EQ(h[0], 0x3f80);
    EXPECT_EQ(h[1], 0xc020);
    dequantize_row(DType::BF16, h, y, 4);
    EXPECT_EQ(y[1], -2.5f);
    quantize_row(DType::F32, x, y, 4);
    EXPECT_EQ(std::memcmp(x, y, sizeof x), 0);
}

// ---- random blocks against the independent decoder ------------------------------------------

TEST(Dequantize, RandomBlocksMatchTheIndependentDecoder) {
    test::SplitMix64 rng(1234);
    for (DType t : kBlockTypes) {
        SCOPED_TRACE(dtype_name(t));
        const auto& info = dtype_info(t);
        for (int64_t nblocks : {1, 3, 16}) {
            const int64_t n = nblocks * info.block_size;
            std::vector<uint8_t> b(row_bytes(t, n));
            for (auto& byte : b) byte = static_cast<uint8_t>(rng.next());
            // Scales must be finite: give each half-precision scale field a random finite value.
            for (int64_t i = 0; i < nblocks; ++i) {
                uint8_t* blk = b.data() + i * info.block_bytes;
                auto finite_half = [&] {
                    return static_cast<uint16_t>(rng.next() % 0x7c00) | (rng.next() % 2 ? 0x8000 : 0);
                };
                switch (t) {
                    case DType::Q4_0:
                    case DType::Q5_0:
                    case DType::Q8_0:
                        put_half(blk, finite_half());
                        break;
                    case DType::Q4_1:
                    case DType::Q5_1:
                    case DType::Q8_1:
                    case DType::Q4_K:
                    case DType::Q5_K:
                        put_half(blk, finite_half());
                        put_half(blk + 2, finite_half());
                        break;
                    case DType::Q6_K:
                        put_half(blk + 208, finite_half());
                        break;
                    case DType::Q8_K: {
                        const float d = (rng.uniform() - 0.5f) * 1e-2f;
                        std::memcpy(blk, &d, 4);
                        break;
                    }
                    default:
                        break;
                }
            }
            const auto ours = dequant(t, b, n);
            const auto ref = test::decode_row(t, b.data(), n);
            for (int64_t i = 0; i < n; ++i) {
                // Every product of a half scale and small integers is exact in float; the one final
                // operation (a product with more bits, or adding the min) rounds once.
                ASSERT_NEAR(ours[i], ref[i], 1.2e-7 * std::fabs(ref[i])) << "element " << i;
            }
        }
    }
}

}  // namespace
