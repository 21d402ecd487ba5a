// JSON mode. The recognizer is checked against nlohmann::json's own parser (an independent JSON
// implementation) on hand-picked edge cases and on thousands of generated and mutated texts; the
// vocabulary trie against the definition (each token fed to a copy of the recognizer); constrained
// sampling on real vocabularies (Llama 3's byte-level BPE, a SentencePiece vocabulary with byte
// fallback) by parsing what it produces.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "core/error.h"
#include "sampling/json_constraint.h"
#include "sampling/json_test_support.h"
#include "tokenizer/fixtures.h"

namespace kinglet {
namespace {

// The recognizer as a plain JSON validator: any top-level value, whitespace unbounded.
JsonOptions any_json() {
    JsonOptions o;
    o.object_only = false;
    o.leading_ws = o.trailing_ws = true;
    o.max_ws = 0;
    o.max_newlines = -1;
    return o;
}

bool ours(const std::string& s, JsonOptions o = any_json()) {
    JsonRecognizer r(o);
    return r.feed(s) && r.complete();
}

// nlohmann::json's parser; a number beyond double's range is a parse failure there but valid JSON
// text (RFC 8259 leaves the range to implementations), so that failure counts as valid.
bool reference(const std::string& s) {
    try {
        const nlohmann::json j = nlohmann::json::parse(s);
        (void)j;
        return true;
    } catch (const nlohmann::json::out_of_range&) {
        return true;
    } catch (const nlohmann::json::exception&) {
        return false;
    }
}

TEST(JsonRecognizer, AgreesWithNlohmannOnEdgeCases) {
    const std::vector<std::string> cases = {
        "{}", "[]", "0", "-0", "1", "-", "01", "-01", "1.", "1.5", ".5", "+1", "1e5", "1E+2", "1e-2", "1e", "1e+",
        "0.0e0", "12345678901234567890", "1.5e", "true", "tru", "truex", "false", "null", "nul", "nulll", "\"\"",
        "\"a\"", "\"a", "\"\\n\"", "\"\\x\"", "\"\\u00e9\"", "\"\\u00G9\"", "\"\\u12\"", "\"\\ud800\"",
        "\"\\ud800\\udc00\"", "\"\\uD83D\\uDE00\"", "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"\\ud800x\"",
        "\"\\ud800\\n\"", "\"\x01\"", "\"\x7f\"", "\"\xc3\xa9\"", "\"\xc3\"", "\"\xc0\xaf\"", "\"\xe0\x80\xaf\"",
        "\"\xe0\xa0\x80\"", "\"\xed\xa0\x80\"", "\"\xed\x9f\xbf\"", "\"\xf0\x90\x80\x80\"", "\"\xf0\x80\x80\x80\"",
        "\"\xf4\x8f\xbf\xbf\"", "\"\xf4\x90\x80\x80\"", "\"\xf5\x80\x80\x80\"", "\"\xff\"", "\"\x80\"",
        "{\"a\":1}", "{\"a\" : [1, 2, {\"b\": null}]}", "{\"a\"}", "{\"a\":}", "{,}", "{\"a\":1,}", "[1,]", "[,1]",
        "[1 2]", "{\"a\":1 \"b\":2}", "{1:2}", "[[[]]]", "[[[]]", "  {}  ", "\t[\n1\r]", "{} {}", "{}x", "[]]",
        "", " ", "[-]", "[1.e3]", "[0e0]", "[-0.0E-0]", "[1,2,3e+4]", "1e999", "[-1e510]", "{\"\\\"\":\"\\\\\"}", "[\"\\/\"]",
    };
    for (const auto& s : cases) EXPECT_EQ(ours(s), reference(s)) << "text: " << s;
}

// Random JSON texts: nlohmann's serialisation of random values, with random whitespace between tokens.
std::string random_json(std::mt19937& rng, int depth) {
    std::uniform_int_distribution<int> pick(0, depth > 0 ? 7 : 5);
    auto str = [&] {
        static const std::vector<std::string> parts = {"a", "key", " ", "\\n", "\\\"", "\\u00e9", "\xc3\xa9",
                                                      "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\\ud83d\\ude00", "\\/", "9"};
        std::string s = "\"";
        for (int n = int(rng() % 4); n > 0; --n) s += parts[rng() % parts.size()];
        return s + "\"";
    };
    auto ws = [&] {
        static const char* w[] = {"", "", "", " ", "\n", "  ", "\t", "\r\n"};
        return std::string(w[rng() % 8]);
    };
    switch (pick(rng)) {
        case 0: return std::to_string(int(rng() % 2000) - 1000);
        case 1: {
            static const char* nums[] = {"0.5", "-1e10", "3.25E-2", "1e+5", "-0", "0e0", "123.456"};
            return nums[rng() % 7];
        }
        case 2: return (rng() % 2) ? "true" : "false";
        case 3: return "null";
        case 4:
        case 5: return str();
        case 6: {
            std::string s = "[" + ws();
            for (int n = int(rng() % 4), i = 0; i < n; ++i) s += (i ? "," + ws() : "") + random_json(rng, depth - 1) + ws();
            return s + "]";
        }
        default: {
            std::string s = "{" + ws();
            for (int n = int(rng() % 4), i = 0; i < n; ++i)
                s += (i ? "," + ws() : "") + str() + ws() + ":" + ws() + random_json(rng, depth - 1) + ws();
            return s + "}";
        }
    }
}

TEST(JsonRecognizer, AgreesWithNlohmannOnGeneratedAndMutatedTexts) {
    std::mt19937 rng(20261126);
    const std::string alphabet = "{}[],:\"\\ \n0123456789-+.eEtrufalsn\xc3\xa9\xed\xa0\x80\xf0\x9f\x98";
    int valid = 0, invalid = 0;
    for (int i = 0; i < 4000; ++i) {
        std::string s = random_json(rng, 4);
        ASSERT_TRUE(reference(s)) << s;
        EXPECT_TRUE(ours(s)) << s;
        // Every prefix of a valid text is still alive.
        JsonRecognizer r(any_json());
        for (size_t k = 0; k < s.size(); ++k) ASSERT_TRUE(r.step(uint8_t(s[k]))) << s << " at byte " << k;
        for (int m = int(rng() % 3) + 1; m > 0; --m) test::mutate(s, rng, alphabet);
        const bool ref = reference(s);
        EXPECT_EQ(ours(s), ref) << "text: " << s;
        (ref ? valid : invalid)++;
    }
    EXPECT_GT(valid, 200);  // the mutations produce both kinds
    EXPECT_GT(invalid, 2000);
}

TEST(JsonRecognizer, JsonObjectModeLimits) {
    JsonOptions o;  // the defaults: object_only, no trailing whitespace, 16 whitespace bytes, depth 64
    EXPECT_TRUE(ours("{\"a\": [1, {\"b\": \"c\"}]}", o));
    for (const char* s : {"[1]", "1", "\"x\"", "true", "null"}) EXPECT_FALSE(ours(s, o)) << s;
    EXPECT_FALSE(ours("{} ", o));
    EXPECT_FALSE(ours(" {}", o));
    EXPECT_TRUE(ours("{\n  \"a\": 1,\n  \"b\": [\n    2\n  ]\n}", o));  // pretty-printed
    EXPECT_FALSE(ours("{\n\n\"a\": 1}", o));                              // a blank line
    EXPECT_FALSE(ours("{\r\n\"a\": 1}", o));
    EXPECT_TRUE(ours("{" + std::string(16, ' ') + "}", o));
    EXPECT_FALSE(ours("{" + std::string(17, ' ') + "}", o));
    EXPECT_TRUE(ours("{\"a\":\"" + std::string(100, ' ') + "\"}", o));  // spaces inside strings are text
    std::string deep = "{\"a\":", close = "}";
    for (int d = 1; d < 64; ++d) deep += "[", close += "]";
    EXPECT_TRUE(ours(deep + "1" + std::string(close.rbegin(), close.rend()), o));
    EXPECT_FALSE(ours(deep + "[1]" + std::string(close.rbegin(), close.rend()), o));  // depth 65
    JsonRecognizer r(o);
    EXPECT_FALSE(r.step('x'));
    EXPECT_TRUE(r.dead());
    EXPECT_FALSE(r.step('{'));  // dead stays dead
    o.max_depth = 0;
    EXPECT_THROW(JsonRecognizer bad(o), Error);
}

const Tokenizer& llama3() {
    static const Tokenizer tok(test::through_gguf(Vocab::from_hf_json(test::hf_tokenizer_json("llama3").string())));
    return tok;
}

const Tokenizer& stories() {  // SentencePiece with byte fallback, 512 tokens
    static const Tokenizer tok(Vocab::from_gguf(
        *gguf::Reader::open((test::models_dir() / "stories260K" / "model-f32.gguf").string())));
    return tok;
}

// allowed() against its definition: a token is allowed when a copy of the state accepts all its bytes;
// end-of-generation tokens when the text is complete.
void check_allowed(const Tokenizer& tok, const JsonVocab& v, const JsonRecognizer& s, const std::string& where) {
    std::vector<uint8_t> got(size_t(v.n_vocab()), 0);
    v.allowed(s, got.data());
    int n_allowed = 0;
    for (int32_t id = 0; id < v.n_vocab(); ++id) {
        bool want;
        if (tok.is_eog(id)) {
            want = s.complete();
        } else {
            const TokenType t = tok.token_type(id);
            const bool usable = t == TokenType::normal || t == TokenType::byte || t == TokenType::user_defined ||
                                t == TokenType::undefined;
            const std::string piece = tok.token_to_piece(id, false);
            JsonRecognizer c = s;
            want = usable && !piece.empty() && c.feed(piece);
        }
        n_allowed += want;
        ASSERT_EQ(bool(got[size_t(id)]), want) << "token " << id << " '" << tok.token_to_piece(id, false) << "' after "
                                               << where;
    }
    EXPECT_GT(n_allowed, 0) << where;
}

TEST(JsonVocab, AllowedMatchesFeedingEveryTokenOnRealVocabularies) {
    for (const Tokenizer* tok : {&llama3(), &stories()}) {
        const auto v = make_json_vocab(*tok);
        ASSERT_EQ(v->n_vocab(), tok->n_vocab());
        // States along a text that visits every mode: objects, arrays, keys, escapes, a surrogate pair,
        // a UTF-8 character cut after its first byte, numbers, literals, the end.
        const std::string text =
            "{\"k\\u00e9y\": [1.5e-3, -0, true, null, \"x\\ud83d\\ude00\xc3\xa9\xf0\x9f\x98\x80\"], \"o\": {}, "
            "\"n\": 12}";
        ASSERT_TRUE(reference(text));
        JsonRecognizer s;
        check_allowed(*tok, *v, s, "nothing");
        for (size_t k = 0; k < text.size(); ++k) {
            ASSERT_TRUE(s.step(uint8_t(text[k])));
            if (k % 3 == 0 || k + 1 == text.size() || uint8_t(text[k]) >= 0x80 || text[k] == '\\')
                check_allowed(*tok, *v, s, text.substr(0, k + 1));
        }
        EXPECT_TRUE(s.complete());
    }
}

// Sampling under the constraint from random logits (temperature 1), nudged towards closing brackets and
// quotes so that texts end: no step is refused, the end-of-generation token never comes early, and
// every finished text parses as a JSON object.
TEST(JsonConstraint, SampledTextsAreJsonObjects) {
    for (const Tokenizer* tok : {&llama3(), &stories()}) {
        const auto v = make_json_vocab(*tok);
        const auto bias = test::bias_towards(*tok, {"}", "]", "\"", "\"}", "\":", ","}, 5.0f);
        int finished = 0;
        for (int seed = 0; seed < 12; ++seed) {
            JsonConstraint c(v);
            const std::string text = test::sample_under(*tok, c, bias, uint64_t(seed), 200);
            ASSERT_FALSE(c.state().dead()) << text;
            if (c.complete()) {
                ++finished;
                nlohmann::json j;
                ASSERT_NO_THROW(j = nlohmann::json::parse(text)) << text;
                EXPECT_TRUE(j.is_object()) << text;
            }
        }
        EXPECT_GE(finished, 3);
    }
}

TEST(JsonConstraint, OnlyEndOfGenerationOnceComplete) {
    const auto v = make_json_vocab(llama3());
    JsonConstraint c(v);
    for (const char* piece : {"{\"", "a", "\":", "1", "}"}) {
        const int32_t id = llama3().find_token(piece);
        ASSERT_GE(id, 0) << piece;
        c.accept(id);
    }
    ASSERT_TRUE(c.complete());
    std::vector<float> logits(size_t(llama3().n_vocab()), 0.0f);
    c.apply(logits.data(), int32_t(logits.size()));
    for (int32_t id = 0; id < int32_t(logits.size()); ++id)
        EXPECT_EQ(std::isinf(logits[size_t(id)]), !llama3().is_eog(id)) << id;
}

}  // namespace
}  // namespace kinglet
