// The shared models' SentencePiece vocabularies, read from their GGUF files, against references made by
// other engines: llama2.c's and llama.cpp's prompt ids in ref-*.json, llama.cpp's text of the generated
// ids, and llama.cpp's ids for ~370 more strings per model (tests/data/tokenizer/llref-*.json, written by
// scripts/gen_llref_tokenizer_vectors.js).
#include <gtest/gtest.h>

#include "tokenizer/fixtures.h"
#include "tokenizer/unicode.h"

namespace kinglet {
namespace {

namespace fs = std::filesystem;

const Tokenizer& model_tokenizer(const std::string& model) {
    static std::map<std::string, std::unique_ptr<Tokenizer>> cache;
    auto& slot = cache[model];
    if (!slot) {
        auto r = gguf::Reader::open((test::models_dir() / model / "model-f32.gguf").string());
        slot = std::make_unique<Tokenizer>(Vocab::from_gguf(*r));
    }
    return *slot;
}

class SharedModel : public ::testing::TestWithParam<std::string> {};

TEST_P(SharedModel, PromptIdsOfEveryReference) {
    const Tokenizer& tok = model_tokenizer(GetParam());
    size_t n = 0;
    for (const auto& entry : fs::directory_iterator(test::models_dir() / GetParam())) {
        const std::string name = entry.path().filename().string();
        if (name.rfind("ref-", 0) != 0 || entry.path().extension() != ".json") continue;
        const auto doc = test::read_json_file(entry.path());
        for (const auto& r : doc.at("results")) {
            const std::string prompt = r.at("prompt");
            EXPECT_EQ(tok.encode(prompt, true, false), r.at("prompt_ids").get<std::vector<int32_t>>())
                << name << ": " << nlohmann::json(prompt).dump();
            ++n;
        }
    }
    EXPECT_GE(n, 13u);
}

TEST_P(SharedModel, GeneratedTextOfLlamaCppReferences) {
    const Tokenizer& tok = model_tokenizer(GetParam());
    size_t n = 0;
    for (const auto& entry : fs::directory_iterator(test::models_dir() / GetParam())) {
        const std::string name = entry.path().filename().string();
        if (name.rfind("ref-llamacpp-", 0) != 0) continue;
        const auto doc = test::read_json_file(entry.path());
        for (const auto& r : doc.at("results")) {
            const auto ids = r.at("ids").get<std::vector<int32_t>>();
            // llama.cpp's reference text renders no control tokens (a generated BOS is "").
            StreamDetokenizer stream(tok, /*render_special=*/false);
            std::string text;
            for (int32_t id : ids) text += stream.push(id);
            text += stream.finish();
            EXPECT_EQ(text, r.at("text").get<std::string>()) << name << ": " << r.at("prompt").dump();
            // decode() gives raw bytes; the stream replaces invalid UTF-8 as sanitize_utf8 does.
            EXPECT_EQ(unicode::sanitize_utf8(
                          tok.decode(ids, {.render_special = false, .strip_space_prefix = false})),
                      text);
            ++n;
        }
    }
    EXPECT_GE(n, 5u);
}

TEST_P(SharedModel, LlamaCppIdsForMoreStrings) {
    const Tokenizer& tok = model_tokenizer(GetParam());
    const auto doc = test::read_json_file(test::tokenizer_data("llref-" + GetParam() + ".json"));
    size_t n = 0;
    for (const auto& c : doc.at("cases")) {
        const std::string text = c.at("text");
        EXPECT_EQ(tok.encode(text, true, false), c.at("ids").get<std::vector<int32_t>>())
            << nlohmann::json(text).dump();
        ++n;
    }
    EXPECT_GT(n, 300u);
}

TEST_P(SharedModel, VocabularyFacts) {
    const Tokenizer& tok = model_tokenizer(GetParam());
    const Vocab& v = tok.vocab();
    EXPECT_EQ(v.model, "llama");
    EXPECT_EQ(v.bos, 1);
    EXPECT_EQ(v.eos, 2);
    EXPECT_EQ(v.unk, 0);
    EXPECT_TRUE(v.add_bos);
    EXPECT_FALSE(v.add_eos);
    EXPECT_TRUE(v.add_space_prefix);
    EXPECT_TRUE(tok.is_eog(2));
    EXPECT_FALSE(tok.is_eog(1));
    EXPECT_EQ(tok.token_to_piece(1), "<s>");
    EXPECT_EQ(tok.token_to_piece(1, false), "");
    EXPECT_EQ(tok.token_to_piece(tok.find_token("<0x0A>")), "\n");
}

INSTANTIATE_TEST_SUITE_P(Tokenizer, SharedModel,
                         ::testing::Values("aidreams260K", "stories260K", "random256"));

}  // namespace
}  // namespace kinglet
