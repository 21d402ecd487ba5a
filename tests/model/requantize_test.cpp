// kinglet's writer, type recipe and quantizers together against llama.cpp's quantizer: converting a
// shared model's F32 file gives exactly the tensor types and bytes of the quantized files llama.cpp
// wrote from it (../shared/models/README.md).
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "gguf/reader.h"
#include "model/requantize.h"
#include "support/paths.h"

using namespace kinglet;

namespace {

struct Case {
    const char* dir;
    const char* type;
};

class Requantize : public testing::TestWithParam<Case> {};

TEST_P(Requantize, MatchesLlamaCppTypesAndBytes) {
    const auto& c = GetParam();
    const auto dir = test::models_dir() / c.dir;
    const std::string out = (std::filesystem::temp_directory_path() /
                             (std::string("kinglet-requant-") + c.dir + "-" + c.type + ".gguf"))
                                .string();
    requantize_model((dir / "model-f32.gguf").string(), out, c.type, 2);
    auto ours = gguf::Reader::open(out);
    auto ref = gguf::Reader::open((dir / (std::string("model-") + c.type + ".gguf")).string());
    ASSERT_EQ(ours->tensors().size(), ref->tensors().size());
    for (const auto& rt : ref->tensors()) {
        const gguf::TensorInfo* t = ours->find_tensor(rt.name);
        ASSERT_NE(t, nullptr) << rt.name;
        EXPECT_EQ(dtype_name(t->type), std::string(dtype_name(rt.type))) << rt.name;
        ASSERT_EQ(t->n_bytes, rt.n_bytes) << rt.name;
        EXPECT_EQ(std::memcmp(t->data, rt.data, rt.n_bytes), 0) << rt.name << " bytes differ";
    }
    EXPECT_EQ(ours->get_int("general.file_type"), ref->get_int("general.file_type"));
    std::filesystem::remove(out);
}

INSTANTIATE_TEST_SUITE_P(SharedModels, Requantize,
                         testing::Values(Case{"stories260K", "q8_0"}, Case{"aidreams260K", "q8_0"},
                                         Case{"aidreams260K", "q4_k_m"}, Case{"aidreams260K", "q5_k_m"},
                                         Case{"random256", "q8_0"}, Case{"random256", "q4_0"},
                                         Case{"random256", "q4_k_m"}, Case{"random256", "q5_k_m"},
                                         Case{"random256", "q6_k"}),
                         [](const auto& info) { return std::string(info.param.dir) + "_" + info.param.type; });

}  // namespace
