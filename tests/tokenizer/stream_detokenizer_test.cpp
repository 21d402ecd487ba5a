// StreamDetokenizer: its chunks concatenate to the whole text, and no chunk ever ends (or starts) inside
// a UTF-8 character; held bytes complete later or become U+FFFD.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <random>

#include "tokenizer/fixtures.h"
#include "tokenizer/unicode.h"

namespace kinglet {
namespace {

const Tokenizer& stories() {
    static const Tokenizer tok(Vocab::from_gguf(
        *gguf::Reader::open((test::models_dir() / "stories260K" / "model-f32.gguf").string())));
    return tok;
}

int32_t byte_token(const Tokenizer& tok, uint8_t b) {
    return tok.find_token(fmt::format("<0x{:02X}>", b));
}

// Streams ids through a detokenizer; checks every chunk is valid UTF-8; returns the concatenation.
std::string stream_all(const Tokenizer& tok, const std::vector<int32_t>& ids, bool render_special = true) {
    StreamDetokenizer s(tok, render_special);
    std::string out;
    for (int32_t id : ids) {
        const std::string chunk = s.push(id);
        EXPECT_TRUE(unicode::is_valid_utf8(chunk))
            << nlohmann::json(chunk).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        out += chunk;
    }
    const std::string tail = s.finish();
    EXPECT_TRUE(unicode::is_valid_utf8(tail));
    return out + tail;
}

TEST(StreamDetokenizer, ByteFallbackEmojiSplitOverFourTokens) {
    const Tokenizer& tok = stories();
    // The README's example: the dog emoji is not a piece and goes through byte fallback.
    const auto ids = tok.encode("\xF0\x9F\x90\xB6", false, false);
    ASSERT_EQ(ids,
              (std::vector<int32_t>{tok.find_token("\xE2\x96\x81"), byte_token(tok, 0xF0),
                                    byte_token(tok, 0x9F), byte_token(tok, 0x90), byte_token(tok, 0xB6)}));
    StreamDetokenizer s(tok);
    EXPECT_EQ(s.push(ids[0]), " ");
    EXPECT_EQ(s.push(ids[1]), "");
    EXPECT_EQ(s.push(ids[2]), "");
    EXPECT_EQ(s.push(ids[3]), "");
    EXPECT_EQ(s.push(ids[4]), "\xF0\x9F\x90\xB6");
    EXPECT_EQ(s.finish(), "");
}

TEST(StreamDetokenizer, InvalidAndUnfinishedSequencesBecomeReplacementCharacters) {
    const Tokenizer& tok = stories();
    const std::string fffd = "\xEF\xBF\xBD";
    const int32_t a = tok.find_token("a");
    ASSERT_GE(a, 0);
    {
        StreamDetokenizer s(tok);
        EXPECT_EQ(s.push(byte_token(tok, 0xFF)), fffd);  // can never start a character: at once
        EXPECT_EQ(s.push(byte_token(tok, 0xF0)), "");
        EXPECT_EQ(s.push(byte_token(tok, 0x9F)), "");
        EXPECT_EQ(s.push(a), fffd + "a");  // the held start is broken by 'a'
        EXPECT_EQ(s.push(byte_token(tok, 0xE2)), "");
        EXPECT_EQ(s.finish(), fffd);  // unfinished at the end
        EXPECT_EQ(s.push(a), "a");    // finish() reset the stream
    }
    {
        StreamDetokenizer s(tok);
        EXPECT_EQ(s.push(byte_token(tok, 0xC0)), fffd);  // overlong lead byte
        EXPECT_EQ(s.push(byte_token(tok, 0xED)), "");
        EXPECT_EQ(s.push(byte_token(tok, 0xA0)), fffd + fffd);  // a surrogate: two maximal subparts
        EXPECT_EQ(s.push(byte_token(tok, 0x80)), fffd);
    }
}

class StreamVectors : public ::testing::TestWithParam<std::string> {};

// For every reference string of every vocabulary (valid UTF-8), streaming its ids gives decode(ids).
TEST_P(StreamVectors, ConcatenationEqualsDecode) {
    const Tokenizer& tok = test::hf_tokenizer(GetParam());
    const auto doc = test::read_json_file(test::tokenizer_data("hf-" + GetParam() + ".json"));
    for (const auto& c : doc.at("cases")) {
        const std::string text = c.at("text");
        for (bool special : {false, true}) {
            const auto ids = tok.encode(text, true, special);
            const std::string streamed = stream_all(tok, ids);
            EXPECT_EQ(streamed, tok.decode(ids, {.strip_space_prefix = false}))
                << nlohmann::json(text).dump();
            if (!tok.vocab().add_space_prefix) {
                EXPECT_EQ(streamed, tok.decode(ids));
            }
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Tokenizer, StreamVectors,
                         ::testing::Values("llama3", "qwen3", "gemma3", "llama2", "llama3-as-gpt2",
                                           "llama3-as-smollm"));

// Random id sequences, heavy in byte tokens (Llama 2) and byte-level pieces that split characters
// (Llama 3): the stream equals the decoded bytes with invalid sequences replaced.
TEST(StreamDetokenizer, RandomIdsMatchSanitizedDecode) {
    std::mt19937 rng(1234);
    for (const std::string name : {"llama2", "llama3"}) {
        const Tokenizer& tok = test::hf_tokenizer(name);
        std::vector<int32_t> bytes;
        for (int b = 0; b < 256; ++b) {
            const int32_t id = name == "llama2" ? byte_token(tok, static_cast<uint8_t>(b))
                                                : tok.find_token(unicode::byte_to_symbol()[b]);
            ASSERT_GE(id, 0);
            bytes.push_back(id);
        }
        for (int trial = 0; trial < 300; ++trial) {
            std::vector<int32_t> ids;
            const int n = 1 + static_cast<int>(rng() % 40);
            for (int i = 0; i < n; ++i) {
                // Mostly bytes that form UTF-8 leads and continuations, sometimes any piece.
                const uint32_t r = rng() % 10;
                if (r < 4)
                    ids.push_back(bytes[0x80 + rng() % 0x40]);
                else if (r < 7)
                    ids.push_back(bytes[0xC0 + rng() % 0x40]);
                else if (r < 8)
                    ids.push_back(bytes[rng() % 0x80]);
                else
                    ids.push_back(static_cast<int32_t>(rng() % static_cast<uint32_t>(tok.n_vocab())));
            }
            const std::string streamed = stream_all(tok, ids);
            EXPECT_EQ(streamed, unicode::sanitize_utf8(tok.decode(ids, {.strip_space_prefix = false})));
        }
    }
}

TEST(Unicode, DecodeFollowsTheMaximalSubpartRule) {
    using unicode::Utf8Status;
    auto st = [](std::string_view s) { return unicode::decode_utf8(s, 0); };
    EXPECT_EQ(st("A").status, Utf8Status::ok);
    EXPECT_EQ(st("\xC3\xA9").cp, 0xE9u);
    EXPECT_EQ(st("\xF0\x9F\x90\xB6").cp, 0x1F436u);
    EXPECT_EQ(st("\xF0\x9F\x90").status, Utf8Status::truncated);
    EXPECT_EQ(st("\xF0\x9F\x90").len, 3u);
    EXPECT_EQ(st("\xF0\x9F\x41").status, Utf8Status::invalid);
    EXPECT_EQ(st("\xF0\x9F\x41").len, 2u);
    EXPECT_EQ(st("\xE0\x80\x80").len, 1u);      // overlong: the lead byte alone
    EXPECT_EQ(st("\xF4\x90\x80\x80").len, 1u);  // above U+10FFFF
    EXPECT_EQ(unicode::sanitize_utf8("a\xF0\x9F"
                                     "b\xFF\xE2\x82"),
              "a\xEF\xBF\xBD"
              "b\xEF\xBF\xBD\xEF\xBF\xBD");
}

}  // namespace
}  // namespace kinglet
