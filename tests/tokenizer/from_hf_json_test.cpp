// Vocab::from_hf_json on the four npm-packaged tokenizers: the GGUF conventions llama.cpp's converter
// gives them (model, pre, types, special ids, flags), and its errors. Also: a vocabulary-only GGUF is
// enough for `kinglet tokenize`.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>

#include "core/error.h"
#include "tokenizer/fixtures.h"

namespace kinglet {
namespace {

namespace fs = std::filesystem;

TEST(FromHfJson, Llama3) {
    const Tokenizer& tok = test::hf_tokenizer("llama3");
    const Vocab& v = tok.vocab();
    EXPECT_EQ(v.model, "gpt2");
    EXPECT_EQ(v.pre, "llama-bpe");
    EXPECT_EQ(v.n_tokens(), 128256);
    // The tokenizer drops the merges' text once its encoder has them: read them from the conversion.
    const Vocab raw = Vocab::from_hf_json(test::hf_tokenizer_json("llama3").string());
    ASSERT_EQ(raw.merges.size(), 280147u);
    EXPECT_EQ(raw.merges[0], "\xC4\xA0 \xC4\xA0");  // "Ġ Ġ"
    EXPECT_TRUE(v.merges.empty());
    EXPECT_EQ(v.bos, 128000);
    EXPECT_EQ(v.eos, 128001);
    EXPECT_TRUE(v.add_bos);  // llama.cpp's default for llama-bpe; the file's post-processor says nothing
    EXPECT_FALSE(v.add_eos);
    EXPECT_FALSE(v.add_space_prefix);
    EXPECT_EQ(v.tokens[128000], "<|begin_of_text|>");
    EXPECT_EQ(v.types[128000], TokenType::control);
    EXPECT_EQ(v.types[128255], TokenType::control);
    EXPECT_EQ(v.types[1000], TokenType::normal);
    EXPECT_NE(v.chat_template.find("start_header_id"), std::string::npos);
    EXPECT_TRUE(tok.is_eog(128001));
    EXPECT_TRUE(tok.is_eog(tok.find_token("<|eot_id|>")));
    EXPECT_FALSE(tok.is_eog(128000));
    EXPECT_EQ(tok.encode("Hi", true, false).front(), 128000);
}

TEST(FromHfJson, Qwen3) {
    const Tokenizer& tok = test::hf_tokenizer("qwen3");
    const Vocab& v = tok.vocab();
    EXPECT_EQ(v.model, "gpt2");
    EXPECT_EQ(v.pre, "qwen2");
    EXPECT_EQ(v.n_tokens(), 151669);
    EXPECT_EQ(v.bos, -1);  // bos_token is null in tokenizer_config.json
    EXPECT_EQ(v.eos, tok.find_token("<|im_end|>"));
    EXPECT_EQ(v.pad, tok.find_token("<|endoftext|>"));
    EXPECT_FALSE(v.add_bos);
    EXPECT_EQ(v.types[tok.find_token("<|im_start|>")], TokenType::control);
    EXPECT_EQ(v.types[tok.find_token("<|fim_prefix|>")], TokenType::control);  // not "special", looks special
    EXPECT_EQ(v.types[tok.find_token("<think>")], TokenType::user_defined);
    EXPECT_EQ(v.types[tok.find_token("<tool_call>")], TokenType::user_defined);
    EXPECT_TRUE(tok.is_eog(tok.find_token("<|im_end|>")));
    EXPECT_TRUE(tok.is_eog(tok.find_token("<|endoftext|>")));
    EXPECT_FALSE(tok.is_eog(tok.find_token("<|im_start|>")));
    EXPECT_NE(v.chat_template.find("<|im_start|>"), std::string::npos);
    EXPECT_EQ(tok.encode("Hi", true, false).size(), 1u);
}

TEST(FromHfJson, Gemma3) {
    const Tokenizer& tok = test::hf_tokenizer("gemma3");
    const Vocab& v = tok.vocab();
    EXPECT_EQ(v.model, "llama");
    EXPECT_EQ(v.pre, "default");
    EXPECT_FALSE(v.add_space_prefix);
    EXPECT_EQ(v.n_tokens(), 262145);
    EXPECT_EQ(v.bos, 2);
    EXPECT_EQ(v.eos, 106);  // tokenizer_config.json's eos_token is <end_of_turn>
    EXPECT_EQ(v.unk, 3);
    EXPECT_EQ(v.pad, 0);
    EXPECT_TRUE(v.add_bos);
    EXPECT_FALSE(v.add_eos);
    EXPECT_EQ(v.types[tok.find_token("<0x41>")], TokenType::byte);
    EXPECT_EQ(v.types[105], TokenType::control);  // <start_of_turn>
    EXPECT_EQ(v.types[tok.find_token("<unused0>")], TokenType::control);
    EXPECT_EQ(v.types[tok.find_token("<mask>")], TokenType::control);
    EXPECT_EQ(v.types[tok.find_token("[multimodal]")], TokenType::user_defined);
    EXPECT_EQ(v.types[tok.find_token("\n\n")], TokenType::user_defined);
    EXPECT_TRUE(tok.is_eog(106));
    EXPECT_TRUE(tok.is_eog(1));  // <eos>
    // User-defined pieces keep U+2581 in the vocabulary and render it as a space.
    EXPECT_EQ(tok.token_to_piece(tok.find_token("\xE2\x96\x81\xE2\x96\x81")), "  ");
    EXPECT_EQ(tok.encode("Hi", true, false).front(), 2);
}

TEST(FromHfJson, Llama2) {
    const Tokenizer& tok = test::hf_tokenizer("llama2");
    const Vocab& v = tok.vocab();
    EXPECT_EQ(v.model, "llama");
    EXPECT_TRUE(v.add_space_prefix);
    EXPECT_EQ(v.n_tokens(), 32000);
    EXPECT_EQ(v.bos, 1);
    EXPECT_EQ(v.eos, 2);
    EXPECT_EQ(v.unk, 0);
    EXPECT_TRUE(v.add_bos);
    EXPECT_EQ(v.types[13], TokenType::byte);  // <0x0A>
    EXPECT_EQ(v.types[1], TokenType::control);
    EXPECT_EQ(tok.token_to_piece(13), "\n");
    EXPECT_EQ(v.chat_template, "");
    // Scores order the merges: "▁t" (the first merge) outranks "▁th".
    EXPECT_GT(v.scores[tok.find_token("\xE2\x96\x81t")], v.scores[tok.find_token("\xE2\x96\x81th")]);
}

struct TempDir {
    fs::path path;
    TempDir() {
        path = fs::temp_directory_path() / fmt::format("kinglet-tokenizer-test-{}", ::getpid());
        fs::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    fs::path write(const std::string& name, const std::string& content) const {
        std::ofstream(path / name, std::ios::binary) << content;
        return path / name;
    }
};

template <typename F>
void expect_error(F f, Errc code, const std::string& part) {
    try {
        f();
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), code) << e.what();
        EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
}

TEST(FromHfJson, ErrorsNameTheFile) {
    TempDir dir;
    expect_error([&] { Vocab::from_hf_json((dir.path / "missing.json").string()); }, Errc::not_found,
                 "missing.json");
    auto bad = dir.write("bad.json", "{\"model\": ");
    expect_error([&] { Vocab::from_hf_json(bad.string()); }, Errc::invalid_file, "bad.json");
    auto wp = dir.write("wp.json", R"({"model": {"type": "WordPiece", "vocab": {"a": 0}}})");
    expect_error([&] { Vocab::from_hf_json(wp.string()); }, Errc::unsupported, "WordPiece");
    auto odd = dir.write("odd.json",
                         R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": "\\w+"}, "behavior": "Isolated", "invert": false},
            {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}]},
        "decoder": {"type": "ByteLevel"}})");
    expect_error([&] { Vocab::from_hf_json(odd.string()); }, Errc::unsupported, "odd.json");
    auto shape = dir.write("shape.json", R"({"model": {"type": "BPE", "vocab": [1, 2], "merges": []},
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true}})");
    expect_error([&] { Vocab::from_hf_json(shape.string()); }, Errc::invalid_file, "shape.json");
}

TEST(FromHfJson, MinimalGpt2TokenizerWithoutConfig) {
    TempDir dir;
    auto p = dir.write("tokenizer.json",
                       R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "<|endoftext|>": 3},
        "merges": ["a b"]}, "added_tokens": [{"id": 3, "content": "<|endoftext|>", "special": true}],
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
        "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<|endoftext|>"}},
            {"Sequence": {"id": "A"}}]}})");
    const Vocab v = Vocab::from_hf_json(p.string());
    EXPECT_EQ(v.model, "gpt2");
    EXPECT_EQ(v.pre, "gpt-2");
    EXPECT_EQ(v.bos, 3);  // from the post-processor, there being no tokenizer_config.json
    EXPECT_TRUE(v.add_bos);
    EXPECT_EQ(v.types[3], TokenType::control);
    EXPECT_EQ(Tokenizer(test::through_gguf(v)).encode("ab", true, false), (std::vector<int32_t>{3, 2}));
}

// A vocabulary-only GGUF (no tensors) written from Llama 3's tokenizer.json: `kinglet tokenize` reads it.
TEST(FromHfJson, VocabularyOnlyGgufIsEnoughForKingletTokenize) {
    TempDir dir;
    gguf::Writer w;
    w.set("general.architecture", gguf::Value::string("llama"));
    Vocab::from_hf_json(test::hf_tokenizer_json("llama3").string()).to_gguf(w);
    const fs::path file = dir.path / "llama3-vocab.gguf";
    w.write(file.string());
    EXPECT_TRUE(gguf::Reader::open(file.string())->tensors().empty());

    std::vector<int32_t> want{128000};
    const auto doc = test::read_json_file(test::tokenizer_data("hf-llama3.json"));
    for (const auto& c : doc.at("cases"))
        if (c.at("text") == "Hello, World!")
            for (int32_t id : c.at("ids")) want.push_back(id);
    ASSERT_GT(want.size(), 1u);

    const std::string cmd =
        fmt::format("'{}' tokenize -m '{}' 'Hello, World!'", test::kinglet_binary(), file.string());
    FILE* p = ::popen(cmd.c_str(), "r");
    ASSERT_NE(p, nullptr);
    std::string out;
    char buf[4096];
    for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
    EXPECT_EQ(::pclose(p), 0);
    EXPECT_EQ(nlohmann::json::parse(out).get<std::vector<int32_t>>(), want) << out;
}

}  // namespace
}  // namespace kinglet
