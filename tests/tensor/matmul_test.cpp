// matmul's work split: whatever the thread count, the number of tokens and the products fused into one
// job, every output element is computed exactly once and equals the scalar reference dot product of
// its row and token (the kernels are bit-exact against it; tests/tensor/kernels_test.cpp).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "core/thread_pool.h"
#include "tensor/dot.h"
#include "tensor/dtype.h"
#include "tensor/ops.h"
#include "tensor/quant.h"

using namespace kinglet;

namespace {

struct Matrix {
    MatRef ref;
    std::vector<uint8_t> bytes;
};

Matrix random_matrix(DType type, int64_t rows, int64_t cols, std::mt19937& rng) {
    std::normal_distribution<float> dist(0.0f, 1.0f);
    Matrix m;
    const size_t rb = row_bytes(type, cols);
    m.bytes.resize(rb * size_t(rows));
    std::vector<float> row(static_cast<size_t>(cols));
    for (int64_t r = 0; r < rows; ++r) {
        for (auto& v : row) v = dist(rng);
        quantize_row(type, row.data(), m.bytes.data() + size_t(r) * rb, cols);
    }
    m.ref = {type, m.bytes.data(), cols, rows, rb};
    return m;
}

// y[t * rows + r] for every product, by the scalar reference.
std::vector<float> reference(const MatRef& w, const std::vector<float>& x, int64_t n_tok) {
    const DType act = vec_dot_type(w.type);
    std::vector<uint8_t> a(row_bytes(act, w.cols));
    std::vector<float> y(size_t(n_tok * w.rows));
    for (int64_t t = 0; t < n_tok; ++t) {
        quantize_activation(act, x.data() + t * w.cols, a.data(), w.cols);
        for (int64_t r = 0; r < w.rows; ++r) y[size_t(t * w.rows + r)] = vec_dot_ref(w.type, w.cols, w.row(r), a.data());
    }
    return y;
}

uint32_t bits(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}

struct Case {
    DType type;
    std::vector<int64_t> rows;  // one product per entry, fused into one call
    int64_t cols;
};

}  // namespace

TEST(Matmul, EveryRowAndTokenOnceForAnyThreadCount) {
    std::mt19937 rng(7);
    const Case cases[] = {
        {DType::Q8_0, {3000}, 256},           // decode: guided chunks of a single product
        {DType::Q8_0, {1000, 250, 250}, 512},  // fused products of different heights (Q, K, V)
        {DType::Q8_0, {17}, 64},              // below the serial threshold
        {DType::Q4_K, {2100, 700}, 256},
        {DType::F16, {513, 31}, 96},          // row counts that are not multiples of 16
        {DType::Q4_0, {4099}, 32},
    };
    for (const Case& c : cases) {
        std::vector<Matrix> ms;
        for (int64_t r : c.rows) ms.push_back(random_matrix(c.type, r, c.cols, rng));
        // 1: decode; 3, 9, 16: small batches (guided chunks, as decode); 17: prefill chunks.
        for (int64_t n_tok : {1, 3, 9, 16, 17}) {
            std::normal_distribution<float> dist(0.0f, 1.0f);
            std::vector<float> x(size_t(n_tok * c.cols));
            for (auto& v : x) v = dist(rng);
            std::vector<std::vector<float>> want;
            for (const auto& m : ms) want.push_back(reference(m.ref, x, n_tok));
            for (int threads : {1, 2, 3}) {
                ThreadPool pool(threads);
                std::vector<std::vector<float>> got(ms.size());
                std::vector<MatmulOut> outs;
                for (size_t i = 0; i < ms.size(); ++i) {
                    got[i].assign(want[i].size(), std::numeric_limits<float>::quiet_NaN());
                    outs.push_back({&ms[i].ref, got[i].data()});
                }
                matmul(outs.data(), int(outs.size()), x.data(), n_tok, pool);
                for (size_t i = 0; i < ms.size(); ++i)
                    for (size_t k = 0; k < want[i].size(); ++k)
                        ASSERT_EQ(bits(got[i][k]), bits(want[i][k]))
                            << dtype_name(c.type) << " product " << i << " of " << ms.size() << ", " << n_tok
                            << " tokens, " << threads << " threads: element " << k << " = " << got[i][k] << ", want "
                            << want[i][k];
            }
        }
    }
}
