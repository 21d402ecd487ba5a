// Every SIMD kernel family this CPU runs against the scalar family, on random and edge-case inputs:
// bit-identical for the activation quantizers, the quantized and F16 matrix products, SiLU and
// attention; to float rounding for F32/BF16 weights. Families the CPU lacks are skipped (the CI machines that
// have them run these tests).
#include "tensor/kernels/kernels.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "tensor/dot.h"
#include "tensor/fp16.h"
#include "tensor/ops.h"
#include "tensor/quant.h"
#include "tensor/rows16.h"

using namespace kinglet;
using kernels::Family;

namespace {

class Kernels : public testing::TestWithParam<const char*> {
protected:
    void SetUp() override {
        simd = kernels::family(GetParam());
        if (!simd) GTEST_SKIP() << "this CPU does not run the " << GetParam() << " family";
        ref = kernels::family("scalar");
    }
    const Family* simd = nullptr;
    const Family* ref = nullptr;
};

uint32_t bits(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}

// Floats with a mix of magnitudes per block: ordinary, tiny, huge, all-zero blocks, repeated values
// (ties in the max) and exact halves (rounding ties).
std::vector<float> random_row(std::mt19937& rng, int64_t n, int block = 32) {
    std::normal_distribution<float> g(0.0f, 1.0f);
    std::uniform_int_distribution<int> kind(0, 9);
    std::vector<float> x(static_cast<size_t>(n));
    for (int64_t b = 0; b < n; b += block) {
        const int k = kind(rng);
        const float scale = k == 0 ? 1e-6f : k == 1 ? 3e4f : k == 2 ? 0.0f : 1.0f;
        for (int64_t i = b; i < b + block && i < n; ++i) {
            float v = g(rng) * scale;
            if (k == 3) v = (i % 3 == 0) ? 2.5f : -2.5f;          // ties of |max| with both signs
            if (k == 4) v = float(int(g(rng) * 8)) * 0.5f;        // many exact halves
            x[i] = v;
        }
    }
    return x;
}

size_t half_field_offsets(DType t, size_t offsets[2]) {
    switch (t) {
        case DType::Q4_0:
        case DType::Q5_0:
        case DType::Q8_0:
            offsets[0] = 0;
            return 1;
        case DType::Q4_1:
        case DType::Q5_1:
        case DType::Q4_K:
        case DType::Q5_K:
            offsets[0] = 0;
            offsets[1] = 2;
            return 2;
        case DType::Q6_K:
            offsets[0] = 208;
            return 1;
        case DType::Q2_K:
            offsets[0] = 80;
            offsets[1] = 82;
            return 2;
        case DType::Q3_K:
            offsets[0] = 108;
            return 1;
        case DType::IQ4_NL:
        case DType::IQ4_XS:
            offsets[0] = 0;
            return 1;
        default:
            return 0;
    }
}

// A weight matrix: most rows quantized from random floats, some rows of random bytes (every level,
// including Q8_0's -128, every scale bit pattern) with finite random block scales.
std::vector<uint8_t> random_weights(std::mt19937& rng, DType t, int64_t rows, int64_t cols) {
    const size_t rb = row_bytes(t, cols);
    std::vector<uint8_t> w(rb * rows);
    std::uniform_int_distribution<int> byte(0, 255);
    std::uniform_real_distribution<float> sc(-0.05f, 0.05f);
    for (int64_t r = 0; r < rows; ++r) {
        uint8_t* row = w.data() + r * rb;
        // Types kinglet only reads (Q2_K, Q3_K, IQ4_NL, IQ4_XS) get random bytes in every row.
        const bool readable_only = !can_quantize(t);
        if (!readable_only) {
            auto x = random_row(rng, cols, int(dtype_info(t).block_size));
            if (t == DType::F16)
                for (auto& v : x) v = std::max(-6e4f, std::min(6e4f, v));
            quantize_row(t, x.data(), row, cols);
        }
        size_t off[2];
        const size_t nf = half_field_offsets(t, off);
        if (nf == 0 || (!readable_only && r % 3 != 1)) continue;
        for (size_t i = 0; i < rb; ++i) row[i] = uint8_t(byte(rng));
        const size_t bb = dtype_info(t).block_bytes;
        for (size_t b = 0; b < rb / bb; ++b)
            for (size_t f = 0; f < nf; ++f) {
                // Extreme scales in some rows of the read-only types: F16's largest and smallest normal.
                float v = sc(rng);
                if (readable_only && r % 4 == 2) v = (b % 2 ? 65504.0f : -65504.0f);
                if (readable_only && r % 4 == 3) v = (b % 2 ? 6.1035156e-05f : -6.1035156e-05f);
                const uint16_t h = fp32_to_fp16(v);
                std::memcpy(row + b * bb + off[f], &h, 2);
            }
    }
    return w;
}

const DType kQuantTypes[] = {DType::F16, DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1,
                             DType::Q8_0, DType::Q4_K, DType::Q5_K, DType::Q6_K,
                             DType::Q2_K, DType::Q3_K, DType::IQ4_NL, DType::IQ4_XS};
const DType kFloatTypes[] = {DType::F32, DType::BF16};

struct Shape {
    int64_t rows, cols, n_tok;
};

std::vector<Shape> shapes(DType t) {
    const int64_t bs = dtype_info(t).block_size;
    const int64_t unit = bs == 1 ? 1 : bs;
    std::vector<Shape> s = {{1, unit * 1, 1},  {3, unit * 2, 1},  {5, unit * 3, 2}, {17, unit * 4, 3},
                            {7, unit * 1, 4},  {9, unit * 2, 5},  {33, unit * 2, 7}, {6, unit * 8, 9},
                            {64, unit * 4, 1}, {13, unit * 3, 16}, {19, unit * 5, 37},
                            // Every batch size up to 8 and every tail (1..7 tokens) after whole tiles of 8.
                            {11, unit * 2, 6}, {5, unit * 3, 8}, {9, unit * 2, 10}, {3, unit * 2, 11},
                            {7, unit * 1, 12}, {4, unit * 2, 14}, {6, unit * 3, 15}, {5, unit * 2, 23}};
    if (bs == 1) {
        // Float rows of any length: tails of 1..7 elements after whole groups of 8.
        s.push_back({5, 172, 3});
        s.push_back({4, 13, 1});
        s.push_back({3, 1, 2});
        s.push_back({3, 200, 2});  // whole 64-element chunks and a tail
        s.push_back({2, 1024, 1});
        // Several column blocks of 1024 and a tail; rows and tokens that are not whole tiles.
        s.push_back({7, 2117, 13});
        s.push_back({4, 1088, 37});
        s.push_back({10, 64, 5});
        // Every token count up to 9 (decode, batched decode) over whole chunks and a tail.
        for (int64_t n_tok = 1; n_tok <= 9; ++n_tok) s.push_back({3, 130, n_tok});
        // Prefill (more than kernels::kStreamTokens tokens): token counts that leave every tail of 1..5
        // tokens after whole tiles of 4 or 6, row counts that are not whole groups of 3, 4 or 16, columns
        // that are whole 32- and 64-element steps and columns with a tail of each length class.
        for (int64_t n_tok = 17; n_tok <= 23; ++n_tok) s.push_back({35, 128, n_tok});
        s.push_back({21, 197, 19});
        s.push_back({33, 2112, 20});  // several column blocks (TileF16Ggml: 1024)
        s.push_back({18, 4165, 29});  // several blocks and a tail
        s.push_back({40, 8192, 19});  // rows wider than an L2 panel holds 16 of (several panels)
    } else if (bs == 32) {
        s.push_back({130, 576, 1});  // a real width (SmolLM2) and an odd number of rows
        // Prefill (more than kernels::kStreamTokens tokens) over rows wider than one L2 panel holds 2 of
        // (the x86 kernels convert a panel's weight scales once for all its token tiles), and a tail tile.
        s.push_back({70, 8192, 21});
        // Batched decode at real widths (18- and 48-block rows, odd row counts): each row's table of scale
        // products is made while the previous row is computed.
        s.push_back({131, 576, 8});
        s.push_back({67, 1536, 5});
    } else if (bs == 256) {
        s.push_back({40, 2048, 21});  // prefill with a tail tile over 8 super-blocks
        // Prefill (packed tiles of 8 tokens): every tail of 1..7 tokens after two whole tiles.
        for (int64_t n_tok : {17, 18, 19, 20, 22, 24, 31}) s.push_back({3, unit * 2, n_tok});
    }
    return s;
}

std::vector<float> run_gemm(const Family& f, const MatRef& w, const std::vector<uint8_t>& act, size_t act_row,
                            int64_t n_tok, bool split) {
    std::vector<float> y(static_cast<size_t>(w.rows * n_tok), -1.0f);
    const int64_t mid = split ? w.rows / 2 + 1 : w.rows;
    f.gemm[int(w.type)](w, 0, mid < w.rows ? mid : w.rows, act.data(), act_row, n_tok, y.data(), w.rows);
    if (mid < w.rows) f.gemm[int(w.type)](w, mid, w.rows, act.data(), act_row, n_tok, y.data(), w.rows);
    return y;
}

// Keeps values inside F16's range (random_row's huge blocks would overflow it to infinity).
std::vector<float> clamp_f16(std::vector<float> x) {
    for (auto& v : x) v = std::max(-6e4f, std::min(6e4f, v));
    return x;
}

std::vector<uint8_t> activations(std::mt19937& rng, DType wt, int64_t cols, int64_t n_tok, size_t* act_row) {
    const DType at = vec_dot_type(wt);
    *act_row = row_bytes(at, cols);
    std::vector<uint8_t> a(*act_row * n_tok);
    for (int64_t t = 0; t < n_tok; ++t) {
        const auto x = clamp_f16(random_row(rng, cols, at == DType::Q8_K ? 256 : 32));
        quantize_activation(at, x.data(), a.data() + t * *act_row, cols);
    }
    return a;
}

}  // namespace

TEST_P(Kernels, ActivationQuantizersAreBitIdentical) {
    std::mt19937 rng(7);
    for (int64_t n : {32, 64, 256, 576, 2048}) {
        for (int rep = 0; rep < 20; ++rep) {
            const auto x = random_row(rng, n, rep % 2 ? 32 : 256);
            struct Case {
                DType t;
                kernels::QuantizeFn mine, theirs;
            };
            std::vector<Case> cases = {{DType::Q8_0, simd->quantize_q8_0, ref->quantize_q8_0},
                                       {DType::Q8_1, simd->quantize_q8_1, ref->quantize_q8_1},
                                       {DType::F16, simd->to_f16, ref->to_f16}};
            if (n % 256 == 0) cases.push_back({DType::Q8_K, simd->quantize_q8_K, ref->quantize_q8_K});
            for (const auto& c : cases) {
                std::vector<uint8_t> a(row_bytes(c.t, n), 0xAA), b(row_bytes(c.t, n), 0x55);
                c.mine(x.data(), a.data(), n);
                c.theirs(x.data(), b.data(), n);
                ASSERT_EQ(a, b) << dtype_name(c.t) << " n=" << n << " rep " << rep;
            }
        }
    }
}

TEST_P(Kernels, ToF16HandlesTails) {
    std::mt19937 rng(3);
    for (int64_t n = 1; n < 40; ++n) {
        const auto x = random_row(rng, n);
        std::vector<uint16_t> a(n), b(n);
        simd->to_f16(x.data(), a.data(), n);
        ref->to_f16(x.data(), b.data(), n);
        ASSERT_EQ(a, b) << n;
    }
}

TEST_P(Kernels, QuantizedAndF16ProductsAreBitIdentical) {
    std::mt19937 rng(11);
    for (DType t : kQuantTypes) {
        for (const Shape& s : shapes(t)) {
            const auto wdata = random_weights(rng, t, s.rows, s.cols);
            const MatRef w{t, wdata.data(), s.cols, s.rows, row_bytes(t, s.cols)};
            size_t act_row;
            const auto act = activations(rng, t, s.cols, s.n_tok, &act_row);
            const auto want = run_gemm(*ref, w, act, act_row, s.n_tok, false);
            const auto got = run_gemm(*simd, w, act, act_row, s.n_tok, true);
            for (size_t i = 0; i < want.size(); ++i)
                ASSERT_EQ(bits(got[i]), bits(want[i]))
                    << dtype_name(t) << " rows " << s.rows << " cols " << s.cols << " tokens " << s.n_tok << " at row "
                    << i % s.rows << " token " << i / s.rows << ": " << got[i] << " vs " << want[i];
        }
    }
}

// Q8_0, Q4_0, Q5_0, Q4_1, Q5_1, Q4_K, Q5_K and Q6_K weights regrouped 16 rows at a time (Layout::kRows16, as
// the loader stores them for families with Family::rows16) give the scalar reference's bits on the plain
// matrix, in every family (the others compute the layout by taking rows out of their group): decode, every
// batch size, prefill over several L2 panels, calls split at a group boundary; and every row reads back as
// the plain row.
TEST_P(Kernels, QuantsInGroupsOf16AreBitIdenticalToThePlainReference) {
    std::mt19937 rng(19);
    struct Case {
        int64_t rows, cols, n_tok;
    };
    std::vector<Case> cases = {{16, 256, 1},   {32, 512, 3},   {48, 2048, 1}, {64, 1536, 8},  {96, 2048, 37},
                               {160, 8192, 1}, {48, 8192, 21}, {16, 768, 17}, {48, 8192, 16}, {32, 2048, 13}};
    for (int64_t n_tok = 1; n_tok <= 10; ++n_tok) cases.push_back({32, 256, n_tok});
    // The 32-block types' rows of any whole number of 32-blocks (576: SmolLM2's width, 896: Qwen2.5-0.5B's).
    const std::vector<Case> q32_cases = {{16, 32, 1},    {32, 576, 1}, {32, 576, 9}, {48, 96, 2},
                                         {64, 1536, 33}, {32, 896, 1}, {48, 896, 12}};
    for (DType t : {DType::Q8_0, DType::Q4_0, DType::Q5_0, DType::Q4_1, DType::Q5_1, DType::Q4_K, DType::Q5_K,
                    DType::Q6_K}) {
        std::vector<Case> all = cases;
        if (dtype_info(t).block_size == 32) all.insert(all.end(), q32_cases.begin(), q32_cases.end());
        for (const Case& c : all) {
            const auto wdata = random_weights(rng, t, c.rows, c.cols);
            const MatRef plain{t, wdata.data(), c.cols, c.rows, row_bytes(t, c.cols)};
            ASSERT_TRUE(can_repack_rows16(plain));
            std::vector<uint8_t> gdata(wdata.size());
            const MatRef grouped = repack_rows16(plain, gdata.data());
            size_t act_row;
            const auto act = activations(rng, t, c.cols, c.n_tok, &act_row);
            const auto want = run_gemm(*ref, plain, act, act_row, c.n_tok, false);
            std::vector<float> got(want.size(), -1.0f), got_ref(want.size(), -1.0f);
            const int64_t mid = c.rows / 32 * 16;  // a group boundary
            for (auto [fam, out] : {std::pair{simd, &got}, std::pair{ref, &got_ref}}) {
                if (mid > 0)
                    fam->gemm[int(t)](grouped, 0, mid, act.data(), act_row, c.n_tok, out->data(), c.rows);
                fam->gemm[int(t)](grouped, mid, c.rows, act.data(), act_row, c.n_tok, out->data(), c.rows);
            }
            for (size_t i = 0; i < want.size(); ++i) {
                ASSERT_EQ(bits(got[i]), bits(want[i]))
                    << dtype_name(t) << " rows " << c.rows << " cols " << c.cols << " tokens " << c.n_tok
                    << " at row " << i % c.rows << " token " << i / c.rows;
                ASSERT_EQ(bits(got_ref[i]), bits(want[i])) << "scalar family on the grouped matrix, at " << i;
            }
            std::vector<float> a(c.cols), b(c.cols);
            for (int64_t r = 0; r < c.rows; ++r) {
                get_row(plain, r, a.data());
                get_row(grouped, r, b.data());
                ASSERT_EQ(a, b) << "row " << r;
            }
        }
    }
}

// Regrouping a matrix of more than 8 MiB in several threads writes the same bytes as one thread, and
// every row reads back as it was.
TEST(Rows16, RegroupingInThreadsWritesTheSameBytes) {
    for (DType t : {DType::Q8_0, DType::Q4_0, DType::Q5_0, DType::Q4_1, DType::Q5_1, DType::Q4_K, DType::Q5_K,
                    DType::Q6_K}) {
        const int64_t rows = 3760, cols = 8192;  // 235 groups (not a multiple of 3), over 16 MiB: 3 threads
        const size_t rb = row_bytes(t, cols);
        std::vector<uint8_t> w(rb * rows);
        std::mt19937 rng(23);
        for (auto& b : w) b = uint8_t(rng());
        const MatRef plain{t, w.data(), cols, rows, rb};
        ASSERT_GT(w.size(), size_t(16) << 20);
        std::vector<uint8_t> one(w.size()), three(w.size());
        repack_rows16(plain, one.data(), 1);
        const MatRef g = repack_rows16(plain, three.data(), 3);
        ASSERT_TRUE(one == three) << dtype_name(t);
        std::vector<uint8_t> back(rb);
        for (int64_t r : {int64_t(0), int64_t(15), int64_t(16), int64_t(1880), rows - 1}) {
            rows16_row(g, r, back.data());
            ASSERT_TRUE(std::equal(back.begin(), back.end(), w.begin() + r * int64_t(rb)))
                << dtype_name(t) << " row " << r;
        }
    }
}

// simd's product of t agrees with ref's to float rounding on every shape.
void expect_float_products_agree(const Family& simd, const Family& ref, DType t, std::mt19937& rng) {
    for (const Shape& s : shapes(t)) {
        std::vector<uint8_t> wdata(row_bytes(t, s.cols) * s.rows);
        for (int64_t r = 0; r < s.rows; ++r) {
            const auto x = clamp_f16(random_row(rng, s.cols));
            quantize_row(t, x.data(), wdata.data() + r * row_bytes(t, s.cols), s.cols);
        }
        const MatRef w{t, wdata.data(), s.cols, s.rows, row_bytes(t, s.cols)};
        size_t act_row;
        const auto act = activations(rng, t, s.cols, s.n_tok, &act_row);
        const auto want = run_gemm(ref, w, act, act_row, s.n_tok, false);
        const auto got = run_gemm(simd, w, act, act_row, s.n_tok, true);
        // Scale of the rounding error: the sum of |products| of the row and token.
        std::vector<float> wf(s.cols), af(s.cols);
        for (size_t i = 0; i < want.size(); ++i) {
            const int64_t r = int64_t(i) % s.rows, tk = int64_t(i) / s.rows;
            dequantize_row(t, wdata.data() + r * w.row_bytes, wf.data(), s.cols);
            dequantize_row(t, act.data() + tk * act_row, af.data(), s.cols);
            double mag = 0;
            for (int64_t k = 0; k < s.cols; ++k) mag += std::fabs(double(wf[k]) * af[k]);
            ASSERT_NEAR(got[i], want[i], 4e-7 * mag * std::sqrt(double(s.cols)) + 1e-30)
                << simd.name << " " << dtype_name(t) << " rows " << s.rows << " cols " << s.cols << " tokens "
                << s.n_tok;
        }
    }
}

TEST_P(Kernels, FloatProductsAgreeToRounding) {
    std::mt19937 rng(13);
    for (DType t : kFloatTypes) expect_float_products_agree(*simd, *ref, t, rng);
}

// On CPUs with AVX-512 VNNI but not AVX512-BF16 (Cascade Lake, Ice Lake) the AVX-512 family's BF16 product
// is the widening one (kernels/dispatch.cpp), which this CPU may not pick: it is checked here directly.
TEST(KernelsAvx512, Bf16WithoutAvx512Bf16AgreesToRounding) {
    const Family* avx512 = kernels::family("avx512");
    if (!avx512) GTEST_SKIP() << "this CPU does not run the avx512 family";
    Family widened = *avx512;
    widened.gemm[int(DType::BF16)] = kernels::avx512::gemm_bf16_widen;
    std::mt19937 rng(17);
    expect_float_products_agree(widened, *kernels::family("scalar"), DType::BF16, rng);
}

TEST_P(Kernels, SwigluIsBitIdentical) {
    std::mt19937 rng(5);
    std::normal_distribution<float> g(0.0f, 4.0f);
    for (int64_t n : {1, 7, 15, 16, 17, 31, 48, 172, 1536}) {
        std::vector<float> gate(n), up(n), a(n), b(n);
        for (int64_t i = 0; i < n; ++i) {
            gate[i] = g(rng);
            up[i] = g(rng);
            // Saturating and subnormal exponents: exp(-g) for |g| up to 200.
            if (i % 11 == 3) gate[i] = -87.0f - float(i % 113);
            if (i % 13 == 5) gate[i] = 88.0f + float(i % 120);
            if (i % 17 == 7) gate[i] = 0.0f;
        }
        simd->swiglu(gate.data(), up.data(), a.data(), n);
        ref->swiglu(gate.data(), up.data(), b.data(), n);
        for (int64_t i = 0; i < n; ++i)
            ASSERT_EQ(bits(a[i]), bits(b[i])) << "n " << n << " i " << i << " gate " << gate[i];
    }
}

// Rotary embedding, both pair layouts: whole and partial rotation (n_rot < head_dim, the rest left
// alone), half-widths with and without a tail after the vector width, several heads.
TEST_P(Kernels, RopeIsBitIdentical) {
    std::mt19937 rng(41);
    std::normal_distribution<float> g(0.0f, 3.0f);
    std::uniform_real_distribution<float> angle(-100.0f, 100.0f);
    struct Shape {
        int heads, head_dim, n_rot;
    };
    for (const Shape sh : {Shape{1, 64, 64}, Shape{9, 64, 64}, Shape{3, 128, 128}, Shape{2, 96, 32}, Shape{2, 80, 80},
                           Shape{4, 64, 24}, Shape{1, 10, 10}, Shape{2, 256, 128}}) {
        for (bool neox : {false, true}) {
            const int half = sh.n_rot / 2;
            std::vector<float> c(half), sn(half);
            for (int i = 0; i < half; ++i) {
                const float th = angle(rng);
                c[i] = std::cos(th) * 1.25f;
                sn[i] = std::sin(th) * 1.25f;
            }
            std::vector<float> x(size_t(sh.heads) * sh.head_dim);
            for (auto& v : x) v = g(rng);
            std::vector<float> a = x, b = x;
            simd->rope(a.data(), sh.heads, sh.head_dim, sh.n_rot, c.data(), sn.data(), neox);
            ref->rope(b.data(), sh.heads, sh.head_dim, sh.n_rot, c.data(), sn.data(), neox);
            for (size_t i = 0; i < x.size(); ++i) {
                ASSERT_EQ(bits(a[i]), bits(b[i])) << "heads " << sh.heads << " head_dim " << sh.head_dim << " n_rot "
                                                  << sh.n_rot << " neox " << neox << " element " << i;
                if (int(i % sh.head_dim) >= sh.n_rot) {
                    ASSERT_EQ(bits(b[i]), bits(x[i])) << "element " << i << " moved";
                }
            }
            // The reference against the rotation written out (double products, then rounded: the fused
            // multiply-add's single rounding) on the first head.
            for (int i = 0; i < half; ++i) {
                const int ia = neox ? i : 2 * i, ib = neox ? i + half : 2 * i + 1;
                const double xa = x[size_t(ia)], xb = x[size_t(ib)];
                EXPECT_EQ(b[size_t(ia)], float(xa * c[i] - double(float(xb * sn[i]))));
                EXPECT_EQ(b[size_t(ib)], float(xa * sn[i] + double(float(xb * c[i]))));
            }
        }
    }
}

TEST(ExpPoly, MatchesTheCLibraryAndSaturates) {
    // The polynomial is accurate to a few ulp over the whole range, including subnormal results.
    for (float x = -103.0f; x < 88.7f; x += 0.01337f) {
        const float want = std::exp(x);
        const float got = kernels::exp_poly_ref(x);
        ASSERT_NEAR(got, want, 4e-7f * want + 1e-44f) << x;
    }
    EXPECT_EQ(kernels::exp_poly_ref(-200.0f), 0.0f);
    EXPECT_EQ(kernels::exp_poly_ref(200.0f), INFINITY);
}

// The softmax weights a sampler draws from: random logits of several spreads and lengths (tails of every
// size), with the edge inputs a vocabulary row can hold (-inf for banned tokens, NaN, +inf, huge and
// very negative values, the maximum itself), at several temperatures.
TEST_P(Kernels, ExpWeightsAndMaxAreBitIdentical) {
    std::mt19937 rng(31);
    for (int64_t n : {0, 1, 3, 7, 8, 9, 15, 16, 17, 40, 1000, 49152 + 5}) {
        for (float spread : {1.0f, 10.0f, 80.0f}) {
            std::normal_distribution<float> g(0.0f, spread);
            std::vector<float> x(static_cast<size_t>(n));
            for (int64_t i = 0; i < n; ++i) {
                x[i] = g(rng);
                if (i % 29 == 3) x[i] = -INFINITY;
                if (i % 31 == 5) x[i] = NAN;
                if (i % 37 == 7) x[i] = -1e30f;
                if (i % 41 == 9) x[i] = 0.0f;
            }
            const float m = ref->max(x.data(), n);
            ASSERT_EQ(simd->max(x.data(), n), m) << "n " << n;
            for (float mx : {m, 0.0f, -5.0f, 1e30f}) {
                if (n == 0 && mx != 0.0f) continue;
                for (float scale : {1.0f, 1.0f / 0.7f, 0.25f, 100.0f}) {
                    std::vector<float> a(static_cast<size_t>(n), -1.0f), b(static_cast<size_t>(n), -2.0f);
                    const double sa = simd->exp_weights(x.data(), a.data(), n, mx, scale);
                    const double sb = ref->exp_weights(x.data(), b.data(), n, mx, scale);
                    ASSERT_EQ(sa, sb) << "n " << n << " mx " << mx << " scale " << scale;
                    for (int64_t i = 0; i < n; ++i)
                        ASSERT_EQ(bits(a[i]), bits(b[i])) << "n " << n << " i " << i << " x " << x[i] << " mx " << mx;
                }
            }
        }
    }
    // +inf (a forced token) and a row of NaNs only.
    std::vector<float> x = {1.0f, INFINITY, NAN, -INFINITY, 3.0f, 2.0f, NAN, 0.5f, 7.0f};
    EXPECT_EQ(simd->max(x.data(), 9), INFINITY);
    EXPECT_EQ(ref->max(x.data(), 9), INFINITY);
    std::vector<float> nans(11, NAN);
    EXPECT_EQ(simd->max(nans.data(), 11), -INFINITY);
    EXPECT_EQ(ref->max(nans.data(), 11), -INFINITY);
}

// The reference weights against the C library's exp of the same argument (documented in kernels.h:
// at most 2.5e-7 relative for normal results), exact where they must be, and the sum against a
// double-precision sum of std::exp.
TEST(ExpWeights, AccurateAgainstTheCLibraryAndExactAtTheEdges) {
    std::vector<float> x;
    for (float v = -87.0f; v < 88.0f; v += 0.0031f) x.push_back(v);
    std::vector<float> w(x.size());
    const double sum = kernels::exp_weights_ref(x.data(), w.data(), int64_t(x.size()), 0.0f, 1.0f);
    double want_sum = 0, worst = 0;
    for (size_t i = 0; i < x.size(); ++i) {
        const double want = std::exp(x[i]);  // float argument, double result: the exact exp to 1e-16
        want_sum += want;
        worst = std::max(worst, std::fabs(w[i] - want) / want);
    }
    EXPECT_LE(worst, 2.5e-7);
    EXPECT_NEAR(sum, want_sum, 1e-6 * want_sum);
    // The maximum itself weighs exactly 1; -inf, NaN and underflowing arguments weigh 0.
    std::vector<float> e = {5.0f, -INFINITY, NAN, -1e30f, 5.0f - 200.0f, 5.0f + 1e-6f};
    std::vector<float> we(e.size());
    kernels::exp_weights_ref(e.data(), we.data(), int64_t(e.size()), 5.0f, 1.0f / 0.7f);
    EXPECT_EQ(we[0], 1.0f);
    EXPECT_EQ(we[1], 0.0f);
    EXPECT_EQ(we[2], 0.0f);
    EXPECT_EQ(we[3], 0.0f);
    EXPECT_EQ(we[4], 0.0f);
    EXPECT_GT(we[5], 1.0f);
}

namespace {

struct AttnCase {
    DType kv;
    int hd, hdv, n_pos, block_rows;
    float softcap;
    int first_pos = 0;  // > 0: a sliding window over first_pos .. n_pos - 1
};

// Keys and values of one head in a paged layout with a shuffled block table and other data between
// blocks, so that addressing mistakes show.
struct PagedHead {
    std::vector<uint8_t> k, v;
    std::vector<int32_t> table;
    AttentionArgs args;
};

// rows(dim) gives one position's floats; they are stored in the case's type (Q8_0 with the runtime
// quantizer, as the cache stores them).
template <typename Rows>
PagedHead make_head(std::mt19937& rng, const AttnCase& c, Rows rows) {
    PagedHead p;
    const int n_blocks = (c.n_pos + c.block_rows - 1) / c.block_rows;
    const size_t k_row = row_bytes(c.kv, c.hd), v_row = row_bytes(c.kv, c.hdv);
    const size_t kb = size_t(c.block_rows) * k_row * 2, vb = size_t(c.block_rows) * v_row * 2;  // gaps
    p.table.resize(n_blocks);
    std::iota(p.table.begin(), p.table.end(), 0);
    std::shuffle(p.table.begin(), p.table.end(), rng);
    p.k.assign(kb * n_blocks, 0xFF);
    p.v.assign(vb * n_blocks, 0xFF);
    auto put = [&](std::vector<uint8_t>& buf, size_t stride, size_t row, int dim, bool keys) {
        for (int pos = 0; pos < c.n_pos; ++pos) {
            uint8_t* dst = buf.data() + size_t(p.table[pos / c.block_rows]) * stride + size_t(pos % c.block_rows) * row;
            const std::vector<float> x = rows(dim, keys);
            if (c.kv == DType::Q8_0) quantize_activation(DType::Q8_0, x.data(), dst, dim);
            else quantize_row(c.kv, x.data(), dst, dim);
        }
    };
    put(p.k, kb, k_row, c.hd, true);
    put(p.v, vb, v_row, c.hdv, false);
    p.args.kv_type = c.kv;
    p.args.head_dim = c.hd;
    p.args.head_dim_v = c.hdv;
    p.args.n_pos = c.n_pos;
    p.args.first_pos = c.first_pos;
    p.args.k = {p.k.data(), p.table.data(), kb, c.block_rows};
    p.args.v = {p.v.data(), p.table.data(), vb, c.block_rows};
    p.args.scale = 1.0f / std::sqrt(float(c.hd));
    p.args.softcap = c.softcap;
    return p;
}

// Normal keys (times key_scale) and values.
PagedHead make_head(std::mt19937& rng, const AttnCase& c, float key_scale) {
    std::normal_distribution<float> g(0.0f, 1.0f);
    return make_head(rng, c, [&](int dim, bool keys) {
        std::vector<float> x(dim);
        for (auto& v : x) v = g(rng) * (keys ? key_scale : 1.0f);
        return x;
    });
}

}  // namespace

TEST_P(Kernels, AttentionIsBitIdentical) {
    std::mt19937 rng(17);
    const AttnCase cases[] = {
        {DType::F16, 64, 64, 1, 32, 0},     {DType::F16, 64, 64, 33, 32, 0},    {DType::F16, 64, 64, 192, 32, 0},
        {DType::F16, 128, 128, 70, 16, 0},  {DType::F16, 256, 256, 40, 32, 0},  {DType::F16, 80, 72, 50, 32, 0},
        {DType::F16, 96, 64, 45, 8, 50.0f}, {DType::F32, 64, 64, 100, 32, 0},   {DType::F32, 128, 128, 9, 4, 0},
        {DType::F16, 16, 16, 60, 32, 0},    {DType::F16, 8, 8, 20, 32, 0},      {DType::F32, 32, 32, 37, 32, 0},
    };
    for (const auto& c : cases) {
        for (float key_scale : {1.0f, 8.0f}) {  // large scores: the running max changes often, weights underflow
            PagedHead head = make_head(rng, c, key_scale);
            std::normal_distribution<float> g(0.0f, 1.0f);
            std::vector<float> q(c.hd);
            for (auto& x : q) x = g(rng) * key_scale;
            std::vector<float> a(c.hdv, -1.0f), b(c.hdv, -2.0f);
            simd->attention(head.args, q.data(), a.data());
            ref->attention(head.args, q.data(), b.data());
            for (int j = 0; j < c.hdv; ++j)
                ASSERT_EQ(bits(a[j]), bits(b[j])) << dtype_name(c.kv) << " hd " << c.hd << " n_pos " << c.n_pos
                                                  << " dim " << j << ": " << a[j] << " vs " << b[j];
        }
    }
}

// A Q8_0 cache: several blocks per row, odd position counts, block tables of several sizes, GQA-like
// unequal key/value sizes, soft-capping; keys, values and queries normal (times 1 and 8: large scores
// make the running max change often and weights underflow) and with extreme blocks (tiny 1e-6, huge
// 3e4, all-zero, ties of the block maximum, exact halves: random_row's mixture).
TEST_P(Kernels, AttentionQ8_0IsBitIdentical) {
    std::mt19937 rng(23);
    const AttnCase cases[] = {
        {DType::Q8_0, 32, 32, 1, 32, 0},     {DType::Q8_0, 32, 32, 37, 32, 0},    {DType::Q8_0, 64, 64, 33, 32, 0},
        {DType::Q8_0, 64, 64, 193, 16, 0},   {DType::Q8_0, 128, 128, 71, 32, 0},  {DType::Q8_0, 256, 256, 45, 8, 0},
        {DType::Q8_0, 96, 64, 45, 8, 50.0f}, {DType::Q8_0, 64, 160, 29, 4, 0},    {DType::Q8_0, 512, 512, 11, 32, 0},
    };
    for (const auto& c : cases) {
        for (int kind = 0; kind < 3; ++kind) {
            std::normal_distribution<float> g(0.0f, 1.0f);
            const float s = kind == 1 ? 8.0f : 1.0f;
            PagedHead head = kind == 2 ? make_head(rng, c, [&](int dim, bool) { return random_row(rng, dim); })
                                       : make_head(rng, c, s);
            std::vector<float> q = kind == 2 ? random_row(rng, c.hd) : std::vector<float>(c.hd);
            if (kind != 2)
                for (auto& x : q) x = g(rng) * s;
            std::vector<float> a(c.hdv, -1.0f), b(c.hdv, -2.0f);
            simd->attention(head.args, q.data(), a.data());
            ref->attention(head.args, q.data(), b.data());
            for (int j = 0; j < c.hdv; ++j)
                ASSERT_EQ(bits(a[j]), bits(b[j])) << "q8_0 hd " << c.hd << " hdv " << c.hdv << " n_pos " << c.n_pos
                                                  << " kind " << kind << " dim " << j << ": " << a[j] << " vs " << b[j];
        }
    }
}

namespace {

// n_q normal queries (times q_scale, in padded rows) over one head: every row of the SIMD family's
// grouped kernel, and its one-row kernel on the first query, bit-identical to the scalar one-row
// reference.
void expect_group_bit_identical(const Family& simd, const Family& ref, const PagedHead& head, const AttnCase& c,
                                int n_q, float q_scale, std::mt19937& rng) {
    std::normal_distribution<float> g(0.0f, 1.0f);
    const size_t qs = size_t(c.hd) + 5, os = size_t(c.hdv) + 3;
    std::vector<float> q(qs * n_q);
    for (auto& x : q) x = g(rng) * q_scale;
    std::vector<float> a(os * n_q, -1.0f), one(c.hdv, -3.0f);
    simd.attention_group(head.args, n_q, q.data(), qs, a.data(), os);
    simd.attention(head.args, q.data(), one.data());
    for (int h = 0; h < n_q; ++h) {
        std::vector<float> b(c.hdv, -2.0f);
        ref.attention(head.args, &q[qs * h], b.data());
        for (int j = 0; j < c.hdv; ++j) {
            ASSERT_EQ(bits(a[os * h + j]), bits(b[j])) << dtype_name(c.kv) << " hd " << c.hd << " positions "
                                                       << c.first_pos << ".." << c.n_pos << " n_q " << n_q << " row "
                                                       << h << " dim " << j;
            if (h == 0) {
                ASSERT_EQ(bits(one[j]), bits(b[j])) << dtype_name(c.kv) << " one row, dim " << j;
            }
        }
    }
}

}  // namespace

// Grouped-query attention: n_q query rows over one key/value head (padded strides, groups larger than
// the kernels' group of 8, chunks of positions crossing block boundaries, shapes the SIMD kernels hand
// to the reference), each row bit-identical to the scalar one-row reference.
TEST_P(Kernels, AttentionGroupIsBitIdentical) {
    std::mt19937 rng(37);
    const AttnCase cases[] = {
        {DType::F16, 64, 64, 1, 32, 0},     {DType::F16, 64, 64, 97, 32, 0},   {DType::F16, 128, 128, 70, 16, 0},
        {DType::F16, 80, 72, 50, 32, 0},    {DType::F16, 96, 64, 45, 8, 50.0f}, {DType::F32, 64, 64, 100, 32, 0},
        {DType::F16, 32, 32, 40, 32, 0},    {DType::Q8_0, 64, 64, 97, 32, 0},  {DType::Q8_0, 128, 128, 33, 16, 0},
        {DType::Q8_0, 96, 64, 45, 8, 50.0f}, {DType::Q8_0, 64, 160, 29, 4, 0},
    };
    for (const auto& c : cases) {
        for (int n_q : {1, 3, 8, 9}) {
            const float key_scale = n_q == 3 ? 8.0f : 1.0f;
            PagedHead head = make_head(rng, c, key_scale);
            expect_group_bit_identical(*simd, *ref, head, c, n_q, key_scale, rng);
            if (HasFatalFailure()) return;
        }
    }
}

// Softmax attention of one query in float64: scores q . key(p) * scale, their softmax, and the
// weighted sum of value(p) (key/value: position -> float row).
template <class Key, class Value>
std::vector<double> double_attention(const float* q, float scale, int n_pos, Key key, Value value, int hd, int hdv) {
    std::vector<double> s(n_pos);
    double mx = -1e300;
    for (int p = 0; p < n_pos; ++p) {
        const float* k = key(p);
        double d = 0;
        for (int j = 0; j < hd; ++j) d += double(q[j]) * k[j];
        s[p] = d * scale;
        mx = std::max(mx, s[p]);
    }
    double sum = 0;
    for (auto& x : s) sum += (x = std::exp(x - mx));
    std::vector<double> o(hdv, 0.0);
    for (int p = 0; p < n_pos; ++p) {
        const float* v = value(p);
        for (int j = 0; j < hdv; ++j) o[j] += s[p] / sum * v[j];
    }
    return o;
}

// The Q8_0 reference against a float64 attention over the dequantized keys and values and the
// dequantized Q8_0 query: what is left is float rounding (the only lossy steps, quantizing keys,
// values and query, are undone exactly by dequantizing them), and every output is finite.
TEST(AttentionReference, Q8_0AgreesWithDoublePrecisionOverItsLevels) {
    std::mt19937 rng(29);
    for (const AttnCase& c : {AttnCase{DType::Q8_0, 64, 64, 77, 32, 0}, AttnCase{DType::Q8_0, 32, 96, 30, 8, 0},
                              AttnCase{DType::Q8_0, 128, 64, 5, 32, 0}}) {
        PagedHead head = make_head(rng, c, 1.0f);
        std::normal_distribution<float> g(0.0f, 1.0f);
        std::vector<float> q(c.hd), out(c.hdv), qd(c.hd);
        for (auto& x : q) x = g(rng);
        kernels::attention_ref(head.args, q.data(), out.data());
        std::vector<BlockQ8_0> qq(c.hd / 32);
        quantize_activation(DType::Q8_0, q.data(), qq.data(), c.hd);
        dequantize_row(DType::Q8_0, qq.data(), qd.data(), c.hd);
        std::vector<std::vector<float>> keys(c.n_pos, std::vector<float>(c.hd)), values(c.n_pos, std::vector<float>(c.hdv));
        for (int p = 0; p < c.n_pos; ++p) {
            dequantize_row(DType::Q8_0, head.args.k.row(p, row_bytes(DType::Q8_0, c.hd)), keys[p].data(), c.hd);
            dequantize_row(DType::Q8_0, head.args.v.row(p, row_bytes(DType::Q8_0, c.hdv)), values[p].data(), c.hdv);
        }
        const std::vector<double> o = double_attention(
            qd.data(), head.args.scale, c.n_pos, [&](int p) { return keys[p].data(); },
            [&](int p) { return values[p].data(); }, c.hd, c.hdv);
        for (int j = 0; j < c.hdv; ++j) EXPECT_NEAR(out[j], o[j], 1e-5) << "hd " << c.hd << " dim " << j;
    }
}

// The reference itself against a float64 attention over the same (F32) keys and values.
TEST(AttentionReference, AgreesWithDoublePrecision) {
    std::mt19937 rng(19);
    for (const AttnCase& c : {AttnCase{DType::F32, 64, 64, 77, 32, 0}, AttnCase{DType::F32, 16, 16, 30, 32, 0},
                              AttnCase{DType::F32, 128, 64, 5, 32, 0}}) {
        PagedHead head = make_head(rng, c, 1.0f);
        std::normal_distribution<float> g(0.0f, 1.0f);
        std::vector<float> q(c.hd), out(c.hdv);
        for (auto& x : q) x = g(rng);
        kernels::attention_ref(head.args, q.data(), out.data());
        const std::vector<double> o = double_attention(
            q.data(), head.args.scale, c.n_pos,
            [&](int p) { return reinterpret_cast<const float*>(head.args.k.row(p, size_t(c.hd) * 4)); },
            [&](int p) { return reinterpret_cast<const float*>(head.args.v.row(p, size_t(c.hdv) * 4)); }, c.hd, c.hdv);
        for (int j = 0; j < c.hdv; ++j) EXPECT_NEAR(out[j], o[j], 1e-5) << "hd " << c.hd << " dim " << j;
    }
}

// Sliding windows (first_pos > 0): windows starting inside a block, on a block boundary, inside the
// first chunk of 32 positions and after several, of one position and of all but one; every cache type,
// one row and groups; each SIMD result bit-identical to the scalar reference.
TEST_P(Kernels, SlidingWindowAttentionIsBitIdentical) {
    std::mt19937 rng(41);
    const AttnCase cases[] = {
        {DType::F16, 64, 64, 40, 16, 0, 30},      {DType::F16, 128, 128, 100, 32, 0, 64},
        {DType::F16, 96, 64, 45, 8, 50.0f, 13},   {DType::F32, 64, 64, 70, 32, 0, 69},
        {DType::F16, 32, 32, 50, 32, 0, 1},       {DType::Q8_0, 64, 64, 97, 32, 0, 41},
        {DType::Q8_0, 256, 256, 45, 8, 0, 37},    {DType::Q8_0, 96, 64, 45, 8, 50.0f, 5},
    };
    for (const auto& c : cases) {
        for (int n_q : {1, 3, 9}) {
            PagedHead head = make_head(rng, c, n_q == 3 ? 8.0f : 1.0f);
            expect_group_bit_identical(*simd, *ref, head, c, n_q, 1.0f, rng);
            if (HasFatalFailure()) return;
        }
    }
}

// A window is the softmax over its positions only: the reference with first_pos = f against a float64
// attention over positions f .. n_pos - 1 (and visibly different from attending to all positions).
TEST(AttentionReference, SlidingWindowAttendsOnlyToTheWindow) {
    std::mt19937 rng(43);
    for (const AttnCase& c : {AttnCase{DType::F32, 64, 64, 77, 32, 0, 60}, AttnCase{DType::F32, 16, 16, 30, 8, 0, 9}}) {
        PagedHead head = make_head(rng, c, 1.0f);
        std::normal_distribution<float> g(0.0f, 1.0f);
        std::vector<float> q(c.hd), out(c.hdv), full(c.hdv);
        for (auto& x : q) x = g(rng);
        kernels::attention_ref(head.args, q.data(), out.data());
        AttentionArgs all = head.args;
        all.first_pos = 0;
        kernels::attention_ref(all, q.data(), full.data());
        const int f = c.first_pos;
        const std::vector<double> o = double_attention(
            q.data(), head.args.scale, c.n_pos - f,
            [&](int p) { return reinterpret_cast<const float*>(head.args.k.row(p + f, size_t(c.hd) * 4)); },
            [&](int p) { return reinterpret_cast<const float*>(head.args.v.row(p + f, size_t(c.hdv) * 4)); }, c.hd,
            c.hdv);
        double diff = 0;
        for (int j = 0; j < c.hdv; ++j) {
            EXPECT_NEAR(out[j], o[j], 1e-5) << "hd " << c.hd << " dim " << j;
            diff = std::max(diff, std::abs(double(full[j]) - o[j]));
        }
        EXPECT_GT(diff, 1e-2) << "the window made no difference: the test would not see it ignored";
    }
}

TEST(KernelFamily, ScalarAlwaysExistsAndUnknownNamesDoNot) {
    ASSERT_NE(kernels::family("scalar"), nullptr);
    EXPECT_STREQ(kernels::family("scalar")->name, "scalar");
    EXPECT_EQ(kernels::family("sse9"), nullptr);
    EXPECT_NE(kernels::active().name, nullptr);
}

INSTANTIATE_TEST_SUITE_P(SimdFamilies, Kernels, testing::Values("avx2", "avx512"),
                         [](const auto& info) { return std::string(info.param); });
