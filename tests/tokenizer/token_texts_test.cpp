// TokenTexts against the obvious model, a std::vector<std::string>, under random edits: every text,
// the size, find() and equality must match the vector's after every step, and after shrink_to_fit().
#include "tokenizer/token_texts.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

namespace kinglet {
namespace {

void expect_same(const TokenTexts& t, const std::vector<std::string>& ref) {
    ASSERT_EQ(t.size(), ref.size());
    for (size_t i = 0; i < ref.size(); ++i) ASSERT_EQ(t[i], ref[i]) << "token " << i;
    EXPECT_EQ(t.strings(), ref);
}

std::string random_text(std::mt19937& rng) {
    // Lengths around std::string's 15-byte small-string limit, empty texts, and bytes of every value.
    std::uniform_int_distribution<int> len(0, 40), byte(0, 255);
    std::string s(size_t(len(rng)), '\0');
    for (char& c : s) c = char(byte(rng));
    return s;
}

TEST(TokenTexts, RandomEditsMatchAVectorOfStrings) {
    std::mt19937 rng(7);
    TokenTexts t;
    std::vector<std::string> ref;
    for (int step = 0; step < 3000; ++step) {
        const int op = std::uniform_int_distribution<int>(0, 9)(rng);
        if (op < 5 || ref.empty()) {
            ref.push_back(random_text(rng));
            t.push_back(ref.back());
        } else if (op < 8) {
            const size_t i = std::uniform_int_distribution<size_t>(0, ref.size() - 1)(rng);
            ref[i] = random_text(rng);  // shorter (rewritten in place) or longer (appended) than before
            t.set(i, ref[i]);
        } else if (op == 8) {
            t.shrink_to_fit();
        } else {
            const size_t i = std::uniform_int_distribution<size_t>(0, ref.size() - 1)(rng);
            const auto first = std::find(ref.begin(), ref.end(), ref[i]) - ref.begin();
            EXPECT_EQ(t.find(ref[i]), first);
        }
        if (step % 100 == 0) expect_same(t, ref);
    }
    expect_same(t, ref);
    EXPECT_EQ(t.find(std::string(50, 'x')), -1);  // longer than any text
    const TokenTexts copy(ref);
    EXPECT_TRUE(copy == t);
    t.set(0, ref[0] + "!");
    EXPECT_FALSE(copy == t);
}

TEST(TokenTexts, AssignEmptyThenSetOutOfOrder) {
    TokenTexts t;
    t.push_back("old");
    t.assign_empty(4);
    ASSERT_EQ(t.size(), 4u);
    for (size_t i = 0; i < 4; ++i) EXPECT_TRUE(t[i].empty());
    t.set(2, "two");
    t.set(0, "zero");
    t.set(3, std::string_view("\0x", 2));  // embedded NUL kept
    t.shrink_to_fit();
    expect_same(t, {"zero", "", "two", std::string("\0x", 2)});
    EXPECT_TRUE((TokenTexts{"zero", "", "two", std::string_view("\0x", 2)} == t));
}

}  // namespace
}  // namespace kinglet
