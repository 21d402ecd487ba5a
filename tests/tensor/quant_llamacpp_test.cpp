// Byte identity with llama.cpp's quantizer: every non-F32 tensor of the quantized reference models in
// ../shared/models was written by llama.cpp (or a byte-identical reference). Quantizing the same
// tensor from the folder's model-f32.gguf, row by row, must reproduce those bytes exactly.
#include <gtest/gtest.h>

#include <cstring>
#include <ostream>
#include <string>
#include <vector>

#include "gguf/reader.h"
#include "support/paths.h"
#include "tensor/quant.h"

using namespace kinglet;

namespace {

struct Case {
    const char* folder;
    const char* file;
};

void PrintTo(const Case& c, std::ostream* os) {
    *os << c.folder << "/" << c.file;
}

class LlamaCppQuantizer : public ::testing::TestWithParam<Case> {};

TEST_P(LlamaCppQuantizer, RequantizingTheF32ModelReproducesEveryTensorByteForByte) {
    const Case c = GetParam();
    const auto dir = test::models_dir() / c.folder;
    auto f32 = gguf::Reader::open((dir / "model-f32.gguf").string());
    auto quant = gguf::Reader::open((dir / c.file).string());

    int compared = 0;
    for (const gguf::TensorInfo& qt : quant->tensors()) {
        if (qt.type == DType::F32) continue;
        SCOPED_TRACE(qt.name + " (" + dtype_name(qt.type) + ")");
        const gguf::TensorInfo* ft = f32->find_tensor(qt.name);
        ASSERT_NE(ft, nullptr);
        ASSERT_EQ(ft->type, DType::F32);
        ASSERT_EQ(ft->n_elements(), qt.n_elements());
        ASSERT_EQ(ft->ne[0], qt.ne[0]);
        ASSERT_TRUE(can_quantize(qt.type));

        const int64_t n = qt.ne[0];
        const size_t rb = row_bytes(qt.type, n);
        ASSERT_EQ(rb * static_cast<size_t>(qt.n_rows()), qt.n_bytes);
        std::vector<float> row(static_cast<size_t>(n));
        std::vector<uint8_t> out(rb);
        int64_t bad_rows = 0, first_bad = -1;
        for (int64_t r = 0; r < qt.n_rows(); ++r) {
            std::memcpy(row.data(), ft->data + static_cast<size_t>(r * n) * sizeof(float),
                        row.size() * sizeof(float));
            quantize_row(qt.type, row.data(), out.data(), n);
            if (std::memcmp(out.data(), qt.data + r * rb, rb) != 0) {
                if (first_bad < 0) first_bad = r;
                ++bad_rows;
            }
        }
        EXPECT_EQ(bad_rows, 0) << "rows differ, the first is row " << first_bad << " of " << qt.n_rows();
        ++compared;
    }
    EXPECT_GT(compared, 0) << "no quantized tensor in " << c.file;
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
    std::string s = std::string(info.param.folder) + "_" + info.param.file;
    for (char& ch : s)
        if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
    return s;
}

INSTANTIATE_TEST_SUITE_P(
    SharedModels, LlamaCppQuantizer,
    ::testing::Values(Case{"aidreams260K", "model-q8_0.gguf"}, Case{"aidreams260K", "model-q4_k_m.gguf"},
                      Case{"aidreams260K", "model-q5_k_m.gguf"}, Case{"random256", "model-q8_0.gguf"},
                      Case{"random256", "model-q4_0.gguf"}, Case{"random256", "model-q4_k_m.gguf"},
                      Case{"random256", "model-q5_k_m.gguf"}, Case{"random256", "model-q6_k.gguf"},
                      Case{"stories260K", "model-q8_0.gguf"}),
    case_name);

}  // namespace
