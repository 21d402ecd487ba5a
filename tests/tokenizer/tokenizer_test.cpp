// Hand-computed behaviour on tiny vocabularies: merge order, byte fallback, the dummy prefix, added
// tokens, end-of-generation detection, pre-tokenizer regexes, NFC, invalid UTF-8.
#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/unicode.h"

namespace kinglet {
namespace {

using V = std::vector<int32_t>;
const std::string kSp = "\xE2\x96\x81";  // U+2581

// A SentencePiece-style vocabulary: <unk> <s> </s>, 256 byte pieces (ids 3..258), then `pieces`.
Vocab spm_vocab(std::vector<std::pair<std::string, float>> pieces, bool space_prefix) {
    Vocab v;
    v.model = "llama";
    v.pre = "default";
    auto add = [&](std::string t, float s, TokenType ty) {
        v.tokens.push_back(std::move(t));
        v.scores.push_back(s);
        v.types.push_back(ty);
    };
    add("<unk>", 0, TokenType::unknown);
    add("<s>", 0, TokenType::control);
    add("</s>", 0, TokenType::control);
    for (int b = 0; b < 256; ++b) add(fmt::format("<0x{:02X}>", b), 0, TokenType::byte);
    for (auto& [t, s] : pieces) add(t, s, TokenType::normal);
    v.unk = 0, v.bos = 1, v.eos = 2;
    v.add_bos = true;
    v.add_space_prefix = space_prefix;
    return v;
}
int32_t byte_id(uint8_t b) {
    return 3 + b;
}

TEST(Spm, HighestScoreMergesFirstAndLeftmostWinsTies) {
    // ids: a=259 b=260 c=261 ab=262 bc=263
    auto tie = spm_vocab({{"a", -1}, {"b", -1}, {"c", -1}, {"ab", -5}, {"bc", -5}}, false);
    EXPECT_EQ(Tokenizer(tie).encode("abc", false, false), (V{262, 261}));
    auto bc_first = spm_vocab({{"a", -1}, {"b", -1}, {"c", -1}, {"ab", -5}, {"bc", -4}}, false);
    EXPECT_EQ(Tokenizer(bc_first).encode("abc", false, false), (V{259, 263}));
    // A merged pair keeps merging: abc (264) from ab + c.
    auto chain = spm_vocab({{"a", -1}, {"b", -1}, {"c", -1}, {"ab", -5}, {"bc", -6}, {"abc", -7}}, false);
    EXPECT_EQ(Tokenizer(chain).encode("abc", false, false), (V{264}));
    EXPECT_EQ(Tokenizer(chain).encode("abcabc", false, false), (V{264, 264}));
}

TEST(Spm, DummyPrefixSpacesAndByteFallback) {
    // ids: ▁=259 a=260 b=261 ▁a=262
    const Tokenizer tok(spm_vocab({{kSp, -1}, {"a", -2}, {"b", -3}, {kSp + "a", -4}}, true));
    EXPECT_EQ(tok.encode("a", false, false), (V{262}));
    EXPECT_EQ(tok.encode("a", true, false), (V{1, 262}));
    EXPECT_EQ(tok.encode("", true, false), (V{1}));
    EXPECT_EQ(tok.encode("", false, false), (V{}));
    EXPECT_EQ(tok.encode("a b", false, false), (V{262, 259, 261}));
    EXPECT_EQ(tok.encode(" a", false, false), (V{259, 262}));
    // "é" is not a piece: its two bytes.
    EXPECT_EQ(tok.encode("\xC3\xA9", false, false), (V{259, byte_id(0xC3), byte_id(0xA9)}));
    // Invalid UTF-8 is kept, byte by byte.
    EXPECT_EQ(tok.encode("a\xFF", false, false), (V{262, byte_id(0xFF)}));
    EXPECT_EQ(tok.encode("\xE2\x96", false, false), (V{259, byte_id(0xE2), byte_id(0x96)}));
    // Decoding drops the dummy prefix, renders bytes, and inverts encode.
    EXPECT_EQ(tok.decode(tok.encode("a b \xC3\xA9", false, false)), "a b \xC3\xA9");
    EXPECT_EQ(tok.decode(tok.encode(" a", false, false)), " a");
    EXPECT_EQ(tok.decode({262}, {.strip_space_prefix = false}), " a");
    EXPECT_EQ(tok.decode({1, 262}), "<s> a");  // the first token (BOS) has no space to drop
    EXPECT_EQ(tok.decode({1, 262}, {.remove_bos_eos = true}), "a");
    EXPECT_EQ(tok.decode({1, 262}, {.render_special = false}), " a");
    EXPECT_EQ(tok.token_to_piece(byte_id('\n')), "\n");
}

TEST(Spm, AddEosWhenTheVocabularyAsks) {
    auto v = spm_vocab({{"a", -1}}, false);
    v.add_eos = true;
    const Tokenizer tok(v);
    EXPECT_EQ(tok.encode("a", true, false), (V{1, 259, 2}));
    EXPECT_EQ(tok.encode("a", false, false), (V{259}));
    EXPECT_EQ(tok.decode({1, 259, 2}, {.remove_bos_eos = true}), "a");
}

TEST(AddedTokens, ControlOnlyWhenParsingSpecialUserDefinedAlways) {
    // ids: ▁=259 a=260 ▁a=261 <us>=262 (user defined)
    auto v = spm_vocab({{kSp, -1}, {"a", -2}, {kSp + "a", -3}, {"<us>", -1000}}, true);
    v.types[262] = TokenType::user_defined;
    const Tokenizer tok(v);
    // After an added token the dummy prefix comes again (llama.cpp and Hugging Face both do this).
    EXPECT_EQ(tok.encode("<s>a", false, true), (V{1, 261}));
    EXPECT_EQ(tok.encode("<s>a", false, false), (V{259, byte_id('<'), byte_id('s'), byte_id('>'), 260}));
    EXPECT_EQ(tok.encode("a<us>a", false, false), (V{261, 262, 261}));
    EXPECT_EQ(tok.encode("a<us>a", false, true), (V{261, 262, 261}));
    EXPECT_EQ(tok.encode("<us><s>", false, true), (V{262, 1}));
    EXPECT_EQ(tok.token_to_piece(262), "<us>");
}

TEST(AddedTokens, LeftmostThenLongestMatch) {
    auto v = spm_vocab({{"a", -1}, {"<x>", 0}, {"<x>y", 0}, {"x>yz", 0}}, false);  // 259..262
    for (int32_t id : {260, 261, 262}) v.types[id] = TokenType::control;
    const Tokenizer tok(v);
    EXPECT_EQ(tok.encode("<x>yz", false, true), (V{261, byte_id('z')}));
    EXPECT_EQ(tok.encode("a<x>a", false, true), (V{259, 260, 259}));
    EXPECT_EQ(tok.encode("ax>yz<x>", false, true), (V{259, 262, 260}));
}

TEST(EndOfGeneration, FileIdsAndTextsLlamaCppRecognises) {
    auto v = spm_vocab({{"<|im_end|>", 0}, {"<|eot_id|>", 0}, {"<|fim_pad|>", 0}, {"hello", 0}}, true);
    v.types[259] = TokenType::normal;  // a mistyped end token is forced to control, as in llama.cpp
    const Tokenizer tok(v);
    EXPECT_TRUE(tok.is_eog(2));    // EOS
    EXPECT_TRUE(tok.is_eog(259));  // <|im_end|>
    EXPECT_TRUE(tok.is_eog(260));  // <|eot_id|>
    EXPECT_TRUE(tok.is_eog(261));  // FIM pad
    EXPECT_FALSE(tok.is_eog(262));
    EXPECT_FALSE(tok.is_eog(1));
    EXPECT_FALSE(tok.is_eog(-1));
    EXPECT_FALSE(tok.is_eog(100000));
    EXPECT_EQ(tok.token_type(259), TokenType::control);
    EXPECT_EQ(tok.eog_ids(), (V{2, 259, 260, 261}));
}

TEST(Tokenizer, OutOfRangeIdsAreErrors) {
    const Tokenizer tok(spm_vocab({}, true));
    EXPECT_THROW(tok.token_to_piece(-1), Error);
    EXPECT_THROW(tok.token_to_piece(tok.n_vocab()), Error);
    EXPECT_THROW(tok.decode({5, 100000}), Error);
    try {
        tok.token_to_piece(100000);
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), Errc::invalid_argument);
    }
}

// A byte-level vocabulary: the 256 byte symbols (id = byte), then `pieces`, merges in rank order.
Vocab bpe_vocab(std::string pre, std::vector<std::string> pieces, std::vector<std::string> merges) {
    Vocab v;
    v.model = "gpt2";
    v.pre = std::move(pre);
    for (int b = 0; b < 256; ++b) v.tokens.push_back(unicode::byte_to_symbol()[b]);
    for (auto& p : pieces) v.tokens.push_back(p);
    v.tokens.push_back("<|endoftext|>");
    v.scores.assign(v.tokens.size(), 0);
    v.types.assign(v.tokens.size(), TokenType::normal);
    v.types.back() = TokenType::control;
    v.merges = std::move(merges);
    v.bos = v.eos = v.n_tokens() - 1;
    return v;
}

TEST(Bpe, LowestRankMergesFirst) {
    // ids: ab=256 bc=257 abc=258 Ġab=259
    const Tokenizer tok(bpe_vocab("gpt-2",
                                  {"ab", "bc", "abc",
                                   "\xC4\xA0"
                                   "ab"},
                                  {"b c", "a b", "a bc", "\xC4\xA0 ab"}));
    EXPECT_EQ(tok.encode("abc", false, false), (V{258}));         // bc (rank 0), then a+bc
    EXPECT_EQ(tok.encode("ab ab", false, false), (V{256, 259}));  // words "ab", " ab"
    EXPECT_EQ(tok.encode(" abc", false, false), (V{' ', 258}));   // no merge for Ġ + abc
    EXPECT_EQ(tok.encode("abab", false, false), (V{256, 256}));
    EXPECT_EQ(tok.encode("<|endoftext|>", false, true), (V{260}));
    EXPECT_EQ(tok.decode(tok.encode("ab abc\n\xC3\xA9", false, false)), "ab abc\n\xC3\xA9");
    EXPECT_EQ(tok.token_to_piece(259), " ab");
    // GPT-2's byte symbols: 'Ġ' is the space, 'Ċ' the newline.
    EXPECT_EQ(tok.token_to_piece(' '), " ");
    EXPECT_EQ(tok.vocab().tokens['\n'], "\xC4\x8A");
}

TEST(Bpe, Llama3SkipsMergesForWholeWordsInTheVocabulary) {
    // "xyz" (258) is a piece no merge makes; Llama 3's pre-tokenizer emits whole-word pieces directly.
    auto v = bpe_vocab("gpt-2", {"xy", "yz", "xyz"}, {"y z"});
    EXPECT_EQ(Tokenizer(v).encode("xyz", false, false), (V{'x', 257}));
    v.pre = "llama-bpe";
    v.add_bos = true;
    EXPECT_EQ(Tokenizer(v).encode("xyz", false, false), (V{258}));
    EXPECT_EQ(Tokenizer(v).encode("xyz", true, false), (V{259, 258}));
}

TEST(Bpe, InvalidUtf8IsReadAsReplacementCharacters) {
    const Tokenizer tok(bpe_vocab("gpt-2", {}, {}));
    EXPECT_EQ(tok.encode("\xFF", false, false), (V{0xEF, 0xBF, 0xBD}));
    EXPECT_EQ(tok.encode("a\xE2\x82", false, false), (V{'a', 0xEF, 0xBF, 0xBD}));
}

TEST(Bpe, Qwen2NormalizesToNfc) {
    auto v = bpe_vocab("qwen2", {}, {});
    const std::string decomposed = "e\xCC\x81", composed = "\xC3\xA9";
    EXPECT_EQ(Tokenizer(v).encode(decomposed, false, false), (V{0xC3, 0xA9}));
    v.pre = "deepseek-r1-qwen";  // same regex, no normalization (as in llama.cpp)
    EXPECT_EQ(Tokenizer(v).encode(decomposed, false, false), (V{'e', 0xCC, 0x81}));
    EXPECT_EQ(unicode::nfc(decomposed), composed);
}

std::vector<std::string> split(const std::string& pre, const std::string& text) {
    std::vector<std::string> out;
    for (auto p : PreTokenizer(pre).split(text)) out.emplace_back(p);
    return out;
}
using S = std::vector<std::string>;

TEST(PreTokenizer, RegexesOfEachFamily) {
    EXPECT_EQ(split("llama-bpe", "Hello world!!"), (S{"Hello", " world", "!!"}));
    EXPECT_EQ(split("llama-bpe", "IT'S we'Ll"), (S{"IT", "'S", " we", "'Ll"}));
    EXPECT_EQ(split("llama-bpe", "12345"), (S{"123", "45"}));
    EXPECT_EQ(split("llama-bpe", "a\n\nb"), (S{"a", "\n\n", "b"}));
    EXPECT_EQ(split("llama-bpe", "a   b"), (S{"a", "  ", " b"}));
    EXPECT_EQ(split("qwen2", "12345"), (S{"1", "2", "3", "4", "5"}));
    EXPECT_EQ(split("smollm", "ab12 345"), (S{"ab", "1", "2", " ", "3", "4", "5"}));
    EXPECT_EQ(split("gpt-2", "ab12 345"), (S{"ab", "12", " 345"}));
    EXPECT_EQ(split("gpt2", "IT'S"), (S{"IT", "'", "S"}));  // GPT-2's contractions are lower case only
    EXPECT_EQ(split("gpt-2", "a  b\n"), (S{"a", " ", " b", "\n"}));
    EXPECT_EQ(split("gpt-2", ""), (S{}));
    EXPECT_TRUE(PreTokenizer("llama-bpe").ignore_merges());
    EXPECT_FALSE(PreTokenizer("qwen2").ignore_merges());
    EXPECT_TRUE(PreTokenizer("qwen2").nfc());
    EXPECT_TRUE(pre_tokenizer_adds_bos("llama-bpe"));
    EXPECT_FALSE(pre_tokenizer_adds_bos("qwen2"));
    EXPECT_THROW(PreTokenizer("tekken"), Error);
}

TEST(PreTokenizer, LongRunsDoNotOverflow) {
    const std::string text =
        std::string(200000, ' ') + "x" + std::string(100000, 'a') + std::string(50000, '1');
    size_t total = 0;
    for (auto p : PreTokenizer("llama-bpe").split(text)) total += p.size();
    EXPECT_EQ(total, text.size());
}

}  // namespace
}  // namespace kinglet
