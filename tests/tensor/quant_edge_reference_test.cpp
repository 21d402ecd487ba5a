// Byte identity with llama.cpp's quantizer on adversarial data. At test-development time a copy of
// random256/model-f32.gguf whose weights are replaced by edge_rows.h rows was quantized by llama.cpp
// (llref quantize, see make_edge_reference.sh) to every type kinglet writes; data/llamacpp_edge_hashes.json
// records, per output file, each tensor's type and a 64-bit FNV-1a hash of llama.cpp's bytes. The test
// regenerates the rows, quantizes them with quantize_row and compares hashes.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "edge_rows.h"
#include "gguf/reader.h"
#include "gguf/writer.h"
#include "support/paths.h"
#include "tensor/dtype.h"
#include "tensor/quant.h"

using namespace kinglet;

namespace {

uint64_t fnv1a(const uint8_t* p, size_t n, uint64_t h = 0xcbf29ce484222325ull) {
    for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

std::string hex(uint64_t v) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
    return buf;
}

std::filesystem::path template_model() {
    return test::models_dir() / "random256" / "model-f32.gguf";
}

// Rows are numbered across the whole file, in tensor order, so each tensor sees every kind of row.
struct RowNumbering {
    std::vector<uint64_t> first_row;  // per tensor of the template, in file order
};

RowNumbering number_rows(const gguf::Reader& r) {
    RowNumbering out;
    uint64_t next = 0;
    for (const auto& t : r.tensors()) {
        out.first_row.push_back(next);
        next += static_cast<uint64_t>(t.n_rows());
    }
    return out;
}

nlohmann::json load_manifest() {
    std::ifstream in(test::source_dir() / "tests" / "tensor" / "data" / "llamacpp_edge_hashes.json");
    EXPECT_TRUE(in.good());
    return nlohmann::json::parse(in);
}

TEST(LlamaCppEdgeRows, QuantizedBytesMatchLlamaCpp) {
    auto tmpl = gguf::Reader::open(template_model().string());
    const RowNumbering rows = number_rows(*tmpl);
    const nlohmann::json manifest = load_manifest();
    ASSERT_TRUE(manifest.contains("files"));
    int compared = 0;
    for (const auto& [file, tensors] : manifest["files"].items()) {
        for (const auto& [name, entry] : tensors.items()) {
            SCOPED_TRACE(file + ": " + name);
            const auto type = dtype_from_name(entry["type"].get<std::string>());
            ASSERT_TRUE(type.has_value());
            const gguf::TensorInfo* t = tmpl->find_tensor(name);
            ASSERT_NE(t, nullptr);
            const size_t idx = static_cast<size_t>(t - tmpl->tensors().data());
            const int64_t n = t->ne[0];
            std::vector<uint8_t> out(row_bytes(*type, n));
            uint64_t h = 0xcbf29ce484222325ull;
            for (int64_t r = 0; r < t->n_rows(); ++r) {
                const auto x = test::edge_row(rows.first_row[idx] + static_cast<uint64_t>(r), n);
                quantize_row(*type, x.data(), out.data(), n);
                h = fnv1a(out.data(), out.size(), h);
            }
            EXPECT_EQ(hex(h), entry["fnv1a64"].get<std::string>()) << dtype_name(*type);
            ++compared;
        }
    }
    EXPECT_GE(compared, 50);
}

// Development tools (run with --gtest_also_run_disabled_tests, see make_edge_reference.sh).
// Writes the template model with its weights replaced by edge rows to $KINGLET_EDGE_OUT.
TEST(LlamaCppEdgeRows, DISABLED_WriteEdgeModel) {
    const char* out = std::getenv("KINGLET_EDGE_OUT");
    ASSERT_NE(out, nullptr);
    auto tmpl = gguf::Reader::open(template_model().string());
    const RowNumbering rows = number_rows(*tmpl);
    gguf::Writer w;
    for (const auto& [key, value] : tmpl->metadata()) w.set(key, value);
    for (size_t i = 0; i < tmpl->tensors().size(); ++i) {
        const auto& t = tmpl->tensors()[i];
        ASSERT_EQ(t.type, DType::F32);
        std::vector<uint8_t> data(t.n_bytes);
        auto* f = reinterpret_cast<float*>(data.data());
        for (int64_t r = 0; r < t.n_rows(); ++r)
            test::edge_row(rows.first_row[i] + static_cast<uint64_t>(r), f + r * t.ne[0], t.ne[0]);
        w.add_tensor(t.name, t.type, std::vector<int64_t>(t.ne, t.ne + t.n_dims), std::move(data));
    }
    w.write(out);
}

// Prints {"tensor": {"type", "fnv1a64"}} for every non-F32 tensor of $KINGLET_EDGE_HASH (a file written
// by llama.cpp).
TEST(LlamaCppEdgeRows, DISABLED_HashTensors) {
    const char* path = std::getenv("KINGLET_EDGE_HASH");
    ASSERT_NE(path, nullptr);
    auto r = gguf::Reader::open(path);
    nlohmann::json j = nlohmann::json::object();
    for (const auto& t : r->tensors()) {
        if (t.type == DType::F32) continue;
        j[t.name] = {{"type", dtype_name(t.type)}, {"fnv1a64", hex(fnv1a(t.data, t.n_bytes))}};
    }
    std::cout << "EDGE_HASHES " << j.dump() << "\n";
}

}  // namespace
