// Fuzzes the SSE parser: any bytes, fed in pieces whose size the first byte picks, must give exactly
// the events the same bytes give fed at once (the parser may not depend on how the network splits a
// stream) — never a crash or a hang.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "router/sse_parser.h"

using kinglet::router::SseParser;

static std::vector<std::string> events(std::string_view bytes, size_t piece, bool& ok) {
    SseParser p(1 << 16);
    std::vector<std::string> out;
    auto cb = [&](std::string_view d) {
        out.emplace_back(d);
        return true;
    };
    ok = true;
    for (size_t i = 0; i < bytes.size() && ok; i += piece) ok = p.feed(bytes.substr(i, piece), cb);
    if (ok) ok = p.finish(cb);
    return out;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const size_t piece = size_t(data[0] % 16) + 1;
    const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
    bool ok_whole = false, ok_split = false;
    const auto whole = events(bytes, bytes.size() + 1, ok_whole);
    const auto split = events(bytes, piece, ok_split);
    if (ok_whole != ok_split || (ok_whole && whole != split)) std::abort();
    return 0;
}
