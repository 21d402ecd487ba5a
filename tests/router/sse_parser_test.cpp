// The SSE parser against the event-stream rules (WHATWG HTML, "Parsing an event stream"): events end
// at a blank line, lines end with LF, CRLF or CR, data lines join with LF, comments and other fields
// are ignored — whatever way the bytes are split.
#include <gtest/gtest.h>

#include "router/sse_parser.h"

namespace kinglet::router {
namespace {

std::vector<std::string> parse_split(const std::string& bytes, size_t piece) {
    SseParser p;
    std::vector<std::string> out;
    auto cb = [&](std::string_view d) {
        out.emplace_back(d);
        return true;
    };
    for (size_t i = 0; i < bytes.size(); i += piece) EXPECT_TRUE(p.feed(std::string_view(bytes).substr(i, piece), cb));
    EXPECT_TRUE(p.finish(cb));
    return out;
}

TEST(SseParser, EventsWhateverTheSplit) {
    const std::string stream =
        ": keep-alive comment\n"
        "data: {\"a\":1}\n\n"
        "event: message\r\nid: 7\r\ndata: first\r\ndata: second\r\n\r\n"
        "data:no-space\r\r"
        "retry: 10\n\n"            // no data: no event
        "data: [DONE]\n\n";
    const std::vector<std::string> want = {"{\"a\":1}", "first\nsecond", "no-space", "[DONE]"};
    for (size_t piece : {1, 2, 3, 7, 1000}) EXPECT_EQ(parse_split(stream, piece), want) << "piece " << piece;
}

TEST(SseParser, LastEventWithoutBlankLineAndEmptyData) {
    EXPECT_EQ(parse_split("data: x\ndata:\n\ndata: tail", 4), (std::vector<std::string>{"x\n", "tail"}));
}

TEST(SseParser, OversizedEventIsAnError) {
    SseParser p(16);
    auto cb = [](std::string_view) { return true; };
    EXPECT_TRUE(p.feed("data: 0123456789\n", cb));
    EXPECT_FALSE(p.feed("data: 0123456789\n", cb));
    EXPECT_FALSE(p.feed("\n", cb));  // unusable afterwards
}

TEST(SseParser, CallbackCanStop) {
    SseParser p;
    int n = 0;
    EXPECT_FALSE(p.feed("data: a\n\ndata: b\n\n", [&](std::string_view) { return ++n < 1; }));
    EXPECT_EQ(n, 1);
}

}  // namespace
}  // namespace kinglet::router
