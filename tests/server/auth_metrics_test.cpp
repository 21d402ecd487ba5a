// API keys (constant-time compare, bearer parsing, key files) and the Prometheus exposition.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "server/auth.h"
#include "server/metrics.h"

namespace kinglet::server {
namespace {

TEST(Auth, ConstantTimeEqual) {
    EXPECT_TRUE(constant_time_equal("secret", "secret"));
    EXPECT_FALSE(constant_time_equal("secreT", "secret"));
    EXPECT_FALSE(constant_time_equal("secre", "secret"));
    EXPECT_FALSE(constant_time_equal("secrets", "secret"));
    EXPECT_FALSE(constant_time_equal("", "secret"));
    EXPECT_TRUE(constant_time_equal("", ""));
    // A longer presented key that starts with the real one must not match.
    EXPECT_FALSE(constant_time_equal(std::string("secret\0", 7), "secret"));
}

TEST(Auth, BearerToken) {
    EXPECT_EQ(bearer_token("Bearer abc"), "abc");
    EXPECT_EQ(bearer_token("bearer  abc "), "abc");
    EXPECT_EQ(bearer_token("BEARER abc"), "abc");
    EXPECT_EQ(bearer_token("Basic abc"), "");
    EXPECT_EQ(bearer_token("abc"), "");
    EXPECT_EQ(bearer_token(""), "");
}

TEST(Auth, KeySetAndFile) {
    KeySet none;
    EXPECT_FALSE(none.enabled());
    const auto file = std::filesystem::temp_directory_path() / ("kinglet-keys-" + std::to_string(getpid()));
    std::ofstream(file) << "# team keys\n\n  alpha  \nbeta\r\n";
    KeySet k({"zero"});
    k.add_file(file.string());
    EXPECT_EQ(k.size(), 3u);
    EXPECT_EQ(k.match("zero"), 0);
    EXPECT_EQ(k.match("alpha"), 1);
    EXPECT_EQ(k.match("beta"), 2);
    EXPECT_EQ(k.match("gamma"), -1);
    EXPECT_EQ(KeySet::key_id(1), "key-1");
    std::ofstream(file) << "# nothing\n";
    EXPECT_THROW(k.add_file(file.string()), Error);
    std::filesystem::remove(file);
    EXPECT_THROW(k.add_file(file.string()), Error);
}

TEST(Metrics, HistogramIsCumulative) {
    Histogram h({1, 2, 5});
    for (double v : {0.5, 1.0, 1.5, 3.0, 10.0}) h.observe(v);
    std::string out;
    h.render(out, "x", "m=\"a\"");
    // le is inclusive: 0.5 and 1.0 are <= 1; 1.5 <= 2; 3 <= 5; 10 only in +Inf.
    EXPECT_NE(out.find("x_bucket{m=\"a\",le=\"1\"} 2\n"), std::string::npos) << out;
    EXPECT_NE(out.find("x_bucket{m=\"a\",le=\"2\"} 3\n"), std::string::npos) << out;
    EXPECT_NE(out.find("x_bucket{m=\"a\",le=\"5\"} 4\n"), std::string::npos) << out;
    EXPECT_NE(out.find("x_bucket{m=\"a\",le=\"+Inf\"} 5\n"), std::string::npos) << out;
    EXPECT_NE(out.find("x_sum{m=\"a\"} 16\n"), std::string::npos) << out;
    EXPECT_NE(out.find("x_count{m=\"a\"} 5\n"), std::string::npos) << out;
}

TEST(Metrics, Exposition) {
    Metrics m;
    m.count_request("/v1/chat/completions", 200);
    m.count_request("/v1/chat/completions", 200);
    m.count_request("/v1/chat/completions", 400);
    m.add_tokens("tiny", 10, 5, 4);
    m.add_tokens("tiny", 1, 2, 0);
    m.observe_ttft("tiny", 0.2);
    m.count_cancel("tiny", "disconnect");
    Metrics::ModelGauges g;
    g.model = "tiny";
    g.stats.waiting = 3;
    g.stats.running = 2;
    g.max_seqs = 4;
    const std::string out = m.render({g}, true);
    EXPECT_NE(out.find("kinglet_ready 1\n"), std::string::npos);
    EXPECT_NE(out.find("kinglet_requests_total{endpoint=\"/v1/chat/completions\",status=\"200\"} 2\n"), std::string::npos);
    EXPECT_NE(out.find("kinglet_requests_total{endpoint=\"/v1/chat/completions\",status=\"400\"} 1\n"), std::string::npos);
    EXPECT_NE(out.find("kinglet_prompt_tokens_total{model=\"tiny\"} 11\n"), std::string::npos);
    EXPECT_NE(out.find("kinglet_completion_tokens_total{model=\"tiny\"} 7\n"), std::string::npos);
    EXPECT_NE(out.find("kinglet_prompt_tokens_cached_total{model=\"tiny\"} 4\n"), std::string::npos);
    EXPECT_NE(out.find("kinglet_queue_depth{model=\"tiny\"} 3\n"), std::string::npos);
    EXPECT_NE(out.find("kinglet_active_sequences{model=\"tiny\"} 2\n"), std::string::npos);
    EXPECT_NE(out.find("kinglet_time_to_first_token_seconds_count{model=\"tiny\"} 1\n"), std::string::npos);
    EXPECT_NE(out.find("kinglet_generations_cancelled_total{model=\"tiny\",reason=\"disconnect\"} 1\n"), std::string::npos);
    EXPECT_NE(out.find("# TYPE kinglet_time_per_output_token_seconds histogram\n"), std::string::npos);
    EXPECT_EQ(Metrics::escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
}

}  // namespace
}  // namespace kinglet::server
