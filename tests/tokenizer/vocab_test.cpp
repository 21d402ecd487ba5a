// Vocab::from_gguf / to_gguf: llama.cpp's defaults, errors that name the file and the key, round trips.
#include <gtest/gtest.h>

#include "core/error.h"
#include "tokenizer/fixtures.h"

namespace kinglet {
namespace {

using gguf::Value;
using gguf::ValueType;

Vocab load(const gguf::Writer& w) {
    const std::vector<uint8_t> bytes = w.to_bytes();
    auto r = gguf::Reader::from_memory(bytes.data(), bytes.size(), "test.gguf");
    return Vocab::from_gguf(*r);
}

gguf::Writer spm_writer(std::vector<std::string> tokens = {"<unk>", "<s>", "</s>", "a",
                                                           "\xE2\x96\x81"
                                                           "a"}) {
    gguf::Writer w;
    w.set("general.architecture", Value::string("llama"));
    w.set("tokenizer.ggml.model", Value::string("llama"));
    w.set("tokenizer.ggml.tokens", Value::array_strings(std::move(tokens)));
    return w;
}

// Runs f, expecting an Error with `code` whose message contains every string in `parts`.
template <typename F>
void expect_error(F f, Errc code, std::vector<std::string> parts) {
    try {
        f();
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), code) << e.what();
        for (const auto& p : parts) EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
    }
}

TEST(VocabFromGguf, LlamaDefaultsWhenKeysAreMissing) {
    const Vocab v = load(spm_writer());
    EXPECT_EQ(v.model, "llama");
    EXPECT_EQ(v.pre, "");
    EXPECT_EQ(v.n_tokens(), 5);
    EXPECT_EQ(v.bos, 1);
    EXPECT_EQ(v.eos, 2);
    EXPECT_EQ(v.unk, 0);
    EXPECT_EQ(v.eot, -1);
    EXPECT_EQ(v.pad, -1);
    EXPECT_TRUE(v.add_bos);
    EXPECT_FALSE(v.add_eos);
    EXPECT_TRUE(v.add_space_prefix);
    EXPECT_EQ(v.scores, std::vector<float>(5, 0.0f));
    EXPECT_EQ(v.types, std::vector<TokenType>(5, TokenType::normal));
}

TEST(VocabFromGguf, DefaultIdsOutsideASmallVocabularyAreDropped) {
    auto w = spm_writer({"<unk>", "<s>"});
    const Vocab v = load(w);
    EXPECT_EQ(v.bos, 1);
    EXPECT_EQ(v.eos, -1);
}

TEST(VocabFromGguf, FileKeysOverrideDefaults) {
    auto w = spm_writer();
    w.set("tokenizer.ggml.bos_token_id", Value::u32(3));
    w.set("tokenizer.ggml.eot_token_id", Value::i32(4));
    w.set("tokenizer.ggml.add_bos_token", Value::boolean(false));
    w.set("tokenizer.ggml.add_space_prefix", Value::boolean(false));
    w.set("tokenizer.ggml.scores", Value::array_of(ValueType::INT32, std::vector<int32_t>{0, 0, 0, -5, -7}));
    w.set("tokenizer.ggml.token_type",
          Value::array_of(ValueType::INT32, std::vector<int32_t>{2, 3, 3, 1, 99}));
    w.set("tokenizer.chat_template", Value::string("{{ x }}"));
    const Vocab v = load(w);
    EXPECT_EQ(v.bos, 3);
    EXPECT_EQ(v.eot, 4);
    EXPECT_FALSE(v.add_bos);
    EXPECT_FALSE(v.add_space_prefix);
    EXPECT_EQ(v.scores, (std::vector<float>{0, 0, 0, -5, -7}));
    // An out-of-range type is "undefined", as in llama.cpp.
    EXPECT_EQ(v.types, (std::vector<TokenType>{TokenType::unknown, TokenType::control, TokenType::control,
                                               TokenType::normal, TokenType::undefined}));
    EXPECT_EQ(v.chat_template, "{{ x }}");
}

TEST(VocabFromGguf, SpecialIdOutsideTheVocabularyIsIgnored) {
    auto w = spm_writer();
    w.set("tokenizer.ggml.eos_token_id", Value::u32(99));
    EXPECT_EQ(load(w).eos, 2);
}

TEST(VocabFromGguf, EmptyPiecesAreRenamedAsLlamaCppDoes) {
    const Vocab v = load(spm_writer({"<unk>", "", "x"}));
    EXPECT_EQ(v.tokens[1], "[EMPTY_1]");
}

TEST(VocabFromGguf, ErrorsNameTheFileAndTheKey) {
    {
        gguf::Writer w;
        w.set("general.architecture", Value::string("llama"));
        expect_error([&] { load(w); }, Errc::invalid_file, {"test.gguf", "tokenizer.ggml.model"});
    }
    {
        auto w = spm_writer();
        w.set("tokenizer.ggml.model", Value::string("bert"));
        expect_error([&] { load(w); }, Errc::unsupported, {"test.gguf", "bert"});
    }
    {
        auto w = spm_writer();
        w.set("tokenizer.ggml.tokens", Value::array_of(ValueType::INT32, std::vector<int32_t>{1, 2}));
        expect_error([&] { load(w); }, Errc::invalid_file, {"test.gguf", "tokenizer.ggml.tokens"});
    }
    {
        auto w = spm_writer();
        w.set("tokenizer.ggml.tokens", Value::array_strings({}));
        expect_error([&] { load(w); }, Errc::invalid_file, {"tokenizer.ggml.tokens", "empty"});
    }
    {
        auto w = spm_writer();
        w.set("tokenizer.ggml.scores", Value::array_of(ValueType::FLOAT32, std::vector<float>{1, 2}));
        expect_error([&] { load(w); }, Errc::invalid_file,
                     {"tokenizer.ggml.scores", "2 entries for 5 tokens"});
    }
    {
        auto w = spm_writer();
        w.set("tokenizer.ggml.token_type",
              Value::array_of(ValueType::FLOAT32, std::vector<float>{1, 1, 1, 1, 1}));
        expect_error([&] { load(w); }, Errc::invalid_file, {"tokenizer.ggml.token_type", "integers"});
    }
    {
        auto w = spm_writer();
        w.set("tokenizer.ggml.scores", Value::string("nope"));
        expect_error([&] { load(w); }, Errc::invalid_file, {"tokenizer.ggml.scores"});
    }
    {
        auto w = spm_writer();
        w.set("tokenizer.ggml.bos_token_id", Value::string("1"));
        expect_error([&] { load(w); }, Errc::invalid_file, {"tokenizer.ggml.bos_token_id"});
    }
    {
        auto w = spm_writer();
        w.set("tokenizer.ggml.model", Value::string("gpt2"));
        expect_error([&] { load(w); }, Errc::invalid_file, {"tokenizer.ggml.merges"});
    }
    {
        auto w = spm_writer();
        w.set("tokenizer.ggml.model", Value::string("gpt2"));
        w.set("tokenizer.ggml.pre", Value::string("llama-bpe"));  // adds BOS by default, but there is none
        w.set("tokenizer.ggml.merges", Value::array_strings({"a b"}));
        expect_error([&] { load(w); }, Errc::invalid_file, {"add_bos_token", "BOS"});
    }
}

TEST(VocabToGguf, RoundTripKeepsEveryField) {
    Vocab v;
    v.model = "gpt2";
    v.pre = "qwen2";
    v.tokens = {"a", "b", "ab", "<|im_end|>", "<think>"};
    v.scores = {0, 0, 0, 0, 0};
    v.types = {TokenType::normal, TokenType::normal, TokenType::normal, TokenType::control,
               TokenType::user_defined};
    v.merges = {"a b"};
    v.bos = 0, v.eos = 3, v.eot = 3, v.eom = 4, v.unk = 1, v.pad = 2;
    v.add_bos = true;
    v.add_eos = true;
    v.add_space_prefix = false;
    v.chat_template = "{% for m in messages %}{{ m.content }}{% endfor %}";
    const Vocab r = test::through_gguf(v);
    EXPECT_EQ(r.model, v.model);
    EXPECT_EQ(r.pre, v.pre);
    EXPECT_EQ(r.tokens, v.tokens);
    EXPECT_EQ(r.scores, v.scores);
    EXPECT_EQ(r.types, v.types);
    EXPECT_EQ(r.merges, v.merges);
    EXPECT_EQ(std::vector<int32_t>({r.bos, r.eos, r.eot, r.eom, r.unk, r.pad}),
              std::vector<int32_t>({0, 3, 3, 4, 1, 2}));
    EXPECT_TRUE(r.add_bos);
    EXPECT_TRUE(r.add_eos);
    EXPECT_FALSE(r.add_space_prefix);
    EXPECT_EQ(r.chat_template, v.chat_template);

    // The keys are the ones llama.cpp reads.
    gguf::Writer w;
    v.to_gguf(w);
    for (const char* key :
         {"tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.ggml.tokens", "tokenizer.ggml.token_type",
          "tokenizer.ggml.merges", "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id",
          "tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id", "tokenizer.ggml.unknown_token_id",
          "tokenizer.ggml.padding_token_id", "tokenizer.ggml.add_bos_token", "tokenizer.ggml.add_eos_token",
          "tokenizer.ggml.add_space_prefix", "tokenizer.chat_template"})
        EXPECT_NE(w.find(key), nullptr) << key;
    ASSERT_NE(w.find("tokenizer.ggml.bos_token_id"), nullptr);
    EXPECT_EQ(w.find("tokenizer.ggml.bos_token_id")->type(), ValueType::UINT32);
    EXPECT_EQ(w.find("tokenizer.ggml.token_type")->elem_type(), ValueType::INT32);
}

TEST(VocabToGguf, SentencePieceVocabularyWritesScores) {
    Vocab v = Vocab::from_gguf(
        *gguf::Reader::open((test::models_dir() / "stories260K" / "model-f32.gguf").string()));
    gguf::Writer w;
    v.to_gguf(w);
    ASSERT_NE(w.find("tokenizer.ggml.scores"), nullptr);
    EXPECT_EQ(w.find("tokenizer.ggml.scores")->elem_type(), ValueType::FLOAT32);
    const Vocab r = test::through_gguf(v);
    EXPECT_EQ(r.tokens, v.tokens);
    EXPECT_EQ(r.scores, v.scores);
    EXPECT_EQ(r.types, v.types);
}

TEST(Vocab, PadToAppendsUnusedTokens) {
    Vocab v = load(spm_writer());
    v.pad_to(8);
    ASSERT_EQ(v.n_tokens(), 8);
    EXPECT_EQ(v.tokens[5], "[PAD5]");
    EXPECT_EQ(v.tokens[7], "[PAD7]");
    EXPECT_EQ(v.types[6], TokenType::unused);
    EXPECT_EQ(v.scores.size(), 8u);
    v.pad_to(3);  // never shrinks
    EXPECT_EQ(v.n_tokens(), 8);
    Tokenizer tok(v);
    EXPECT_EQ(tok.token_to_piece(6), "");  // unused tokens render as nothing, as in llama.cpp
}

TEST(Vocab, TokenizerRejectsDuplicatesAndUnknownPreTokenizers) {
    expect_error(
        [] {
            Tokenizer t(load(spm_writer({"<unk>", "<s>", "</s>", "a", "a"})));
        },
        Errc::invalid_file, {"'a'", "3", "4"});
    Vocab v;
    v.model = "gpt2";
    v.pre = "no-such-pre";
    v.tokens = {"a", "b", "ab"};
    v.scores.assign(3, 0);
    v.types.assign(3, TokenType::normal);
    v.merges = {"a b"};
    expect_error([&] { Tokenizer t(v); }, Errc::unsupported, {"no-such-pre", "llama-bpe", "qwen2"});
}

}  // namespace
}  // namespace kinglet
