#include <gtest/gtest.h>

#include "core/error.h"
#include "gguf/reader.h"
#include "gguf/writer.h"
#include "support/paths.h"

using namespace kinglet;
using namespace kinglet::gguf;

TEST(GgufReader, ReadsSharedStoriesModel) {
    auto r = Reader::open((test::models_dir() / "stories260K" / "model-f32.gguf").string());
    EXPECT_EQ(r->version(), 3u);
    EXPECT_EQ(r->get_string("general.architecture"), "llama");
    EXPECT_EQ(r->get_int("llama.embedding_length"), 64);
    EXPECT_EQ(r->get_int("llama.block_count"), 5);
    EXPECT_EQ(r->get_int("llama.attention.head_count"), 8);
    EXPECT_EQ(r->get_int("llama.attention.head_count_kv"), 4);
    const Value& toks = r->get("tokenizer.ggml.tokens");
    ASSERT_TRUE(toks.is_array());
    EXPECT_EQ(toks.elem_type(), ValueType::STRING);
    EXPECT_EQ(toks.size(), 512u);
    EXPECT_EQ(toks.string_at(1), "<s>");
    const TensorInfo* emb = r->find_tensor("token_embd.weight");
    ASSERT_NE(emb, nullptr);
    EXPECT_EQ(emb->type, DType::F32);
    EXPECT_EQ(emb->ne[0], 64);
    EXPECT_EQ(emb->ne[1], 512);
    EXPECT_EQ(emb->n_bytes, 64u * 512u * 4u);
    // 5 layers x 9 tensors + token_embd + output_norm; tied output.
    EXPECT_EQ(r->tensors().size(), 47u);
    EXPECT_EQ(r->find_tensor("output.weight"), nullptr);
}

TEST(GgufReader, MissingFileNamesThePath) {
    try {
        Reader::open("/nonexistent/model.gguf");
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), Errc::not_found);
        EXPECT_NE(std::string(e.what()).find("/nonexistent/model.gguf"), std::string::npos);
    }
}
