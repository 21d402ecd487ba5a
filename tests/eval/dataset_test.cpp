// Dataset reading: JSONL and RFC 4180 CSV, field mapping, bad rows with line numbers, splits, sampling.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "core/error.h"
#include "eval/dataset.h"

using namespace kinglet;
using namespace kinglet::eval;

namespace {
std::vector<Case> read_all(const std::string& text, Format f, FieldMap m, DatasetReader** keep = nullptr,
                           std::vector<BadRow>* bad = nullptr) {
    std::istringstream in(text);
    DatasetReader r(in, "test", f, std::move(m));
    std::vector<Case> out;
    Case c;
    while (r.next(c)) out.push_back(c);
    if (bad) *bad = r.bad_rows();
    (void)keep;
    return out;
}
}  // namespace

TEST(Dataset, JsonlTextAndMessagesAndBadRowsWithLineNumbers) {
    const std::string text =
        "{\"id\": \"a\", \"input\": \"refund please\", \"expected\": \"billing\"}\n"
        "\n"
        "{\"input\": \"crash\", \"expected\": \"bug\"}\n"
        "{not json}\n"
        "[1,2]\n"
        "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"expected\": {\"x\": 1}}\n"
        "{\"input\": 5, \"expected\": \"bug\"}\n"
        "{\"input\": \"no label\"}\n"
        "{\"id\": 7, \"input\": \"last\", \"expected\": \"other\"}";  // no trailing newline
    std::vector<BadRow> bad;
    auto cases = read_all(text, Format::jsonl, {}, nullptr, &bad);
    ASSERT_EQ(cases.size(), 4u);
    EXPECT_EQ(cases[0].id, "a");
    EXPECT_EQ(cases[0].input, "refund please");
    EXPECT_EQ(cases[0].expected, "billing");
    EXPECT_EQ(cases[1].id, "line:3");
    EXPECT_EQ(cases[1].line, 3u);
    EXPECT_TRUE(cases[2].messages.is_array());
    EXPECT_EQ(cases[2].expected["x"], 1);
    EXPECT_EQ(cases[3].id, "7");
    ASSERT_EQ(bad.size(), 4u);
    EXPECT_EQ(bad[0].line, 4u);
    EXPECT_EQ(bad[1].line, 5u);
    EXPECT_EQ(bad[2].line, 7u);
    EXPECT_EQ(bad[3].line, 8u);
    EXPECT_NE(bad[3].message.find("expected"), std::string::npos);
}

TEST(Dataset, FieldMapping) {
    FieldMap m;
    m.input = "text";
    m.expected = "label";
    m.id = "";
    auto cases = read_all("{\"text\": \"t\", \"label\": \"x\", \"id\": \"ignored\"}\n", Format::jsonl, m);
    ASSERT_EQ(cases.size(), 1u);
    EXPECT_EQ(cases[0].input, "t");
    EXPECT_EQ(cases[0].expected, "x");
    EXPECT_EQ(cases[0].id, "line:1");
    m.expected = "";
    auto free = read_all("{\"text\": \"t\"}\n", Format::jsonl, m);
    ASSERT_EQ(free.size(), 1u);
    EXPECT_TRUE(free[0].expected.is_null());
}

TEST(Dataset, CsvRfc4180Quoting) {
    // Quoted commas, doubled quotes, a newline inside quotes (the next row's line number counts it),
    // CRLF line ends, an empty final field.
    const std::string text =
        "id,input,expected\r\n"
        "1,\"hello, world\",greet\r\n"
        "2,\"she said \"\"hi\"\"\",quote\r\n"
        "3,\"two\nlines\",multi\r\n"
        "4,plain,\r\n"
        "5,\"x\"y,bad\n"
        "6,a\"b,bad\n"
        "7,too,many,fields\n"
        "8,\"ok\",\"\"\n"
        "9,\"never closed,oops\n";
    std::vector<BadRow> bad;
    FieldMap m;
    auto cases = read_all(text, Format::csv, m, nullptr, &bad);
    ASSERT_EQ(cases.size(), 5u);
    EXPECT_EQ(cases[0].input, "hello, world");
    EXPECT_EQ(cases[0].line, 2u);
    EXPECT_EQ(cases[1].input, "she said \"hi\"");
    EXPECT_EQ(cases[2].input, "two\nlines");
    EXPECT_EQ(cases[2].line, 4u);
    EXPECT_EQ(cases[3].line, 6u);
    EXPECT_EQ(cases[3].expected, "");
    EXPECT_EQ(cases[4].id, "8");
    EXPECT_EQ(cases[4].line, 10u);
    ASSERT_EQ(bad.size(), 4u);
    EXPECT_EQ(bad[0].line, 7u);
    EXPECT_EQ(bad[1].line, 8u);
    EXPECT_EQ(bad[2].line, 9u);
    EXPECT_NE(bad[2].message.find("4 fields"), std::string::npos);
    EXPECT_EQ(bad[3].line, 11u);
    EXPECT_NE(bad[3].message.find("unterminated"), std::string::npos);
}

TEST(Dataset, CsvMessagesColumnIsJson) {
    auto cases = read_all("messages,expected\n\"[{\"\"role\"\":\"\"user\"\",\"\"content\"\":\"\"q\"\"}]\",a\n",
                          Format::csv, {});
    ASSERT_EQ(cases.size(), 1u);
    EXPECT_EQ(cases[0].messages[0]["content"], "q");
}

TEST(Dataset, CsvHeaderErrors) {
    std::istringstream empty("");
    EXPECT_THROW(DatasetReader(empty, "e.csv", Format::csv, {}), Error);
    std::istringstream dup("a,a\n1,2\n");
    EXPECT_THROW(DatasetReader(dup, "d.csv", Format::csv, {}), Error);
    EXPECT_THROW(DatasetReader("/nonexistent/x.jsonl", {}), Error);
}

TEST(Dataset, SplitsAreDeterministicStableAndProportional) {
    SplitSpec s{0.2, 0.3, 0.5, 42};
    std::map<Split, int> n;
    for (int i = 0; i < 20000; ++i) {
        const std::string id = "case-" + std::to_string(i);
        const Split a = assign_split(id, s);
        EXPECT_EQ(a, assign_split(id, s));
        ++n[a];
    }
    EXPECT_NEAR(n[Split::train], 4000, 250);
    EXPECT_NEAR(n[Split::calibration], 6000, 250);
    EXPECT_NEAR(n[Split::test], 10000, 250);
    // Another seed moves cases.
    SplitSpec t = s;
    t.seed = 43;
    int moved = 0;
    for (int i = 0; i < 1000; ++i) moved += assign_split(std::to_string(i), s) != assign_split(std::to_string(i), t);
    EXPECT_GT(moved, 300);
    EXPECT_THROW(assign_split("x", SplitSpec{0, 0, 0, 1}), Error);
}

TEST(Dataset, StratifiedSampleKeepsShares) {
    auto dir = std::filesystem::temp_directory_path() / "kinglet_eval_dataset_test";
    std::filesystem::create_directories(dir);
    auto path = (dir / "strat.jsonl").string();
    {
        std::ofstream f(path);
        // 600 a, 300 b, 100 c.
        for (int i = 0; i < 1000; ++i) {
            const char* l = i % 10 < 6 ? "a" : (i % 10 < 9 ? "b" : "c");
            f << "{\"id\": \"" << i << "\", \"input\": \"x\", \"expected\": \"" << l << "\"}\n";
        }
    }
    auto lines = stratified_sample(path, {}, std::nullopt, 50, 9, [](const Case&) { return true; });
    EXPECT_EQ(lines.size(), 50u);
    std::map<std::string, int> got;
    DatasetReader r(path, {});
    Case c;
    while (r.next(c))
        if (lines.count(c.line)) ++got[c.expected.get<std::string>()];
    EXPECT_EQ(got["a"], 30);
    EXPECT_EQ(got["b"], 15);
    EXPECT_EQ(got["c"], 5);
    EXPECT_EQ(lines, stratified_sample(path, {}, std::nullopt, 50, 9, [](const Case&) { return true; }));
    // Largest remainder: 7 of (1,1,1) strata.
    auto q = stratum_quotas({{"x", 1}, {"y", 1}, {"z", 1}}, 2);
    EXPECT_EQ(q["x"] + q["y"] + q["z"], 2u);
    std::filesystem::remove_all(dir);
}
