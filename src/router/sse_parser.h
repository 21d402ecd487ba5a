// Incremental parser for server-sent events (the WHATWG "text/event-stream" format) as OpenAI-style
// APIs stream them: bytes arrive in arbitrary pieces; each complete event's `data` (several data lines
// joined by "\n") is handed to the callback. Lines end with LF, CR LF or CR; lines starting with ':'
// are comments; fields other than data (event, id, retry) are ignored. Only what the caller needs of
// the format, bounded: an event larger than `max_event_bytes` is an error.
#pragma once
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace kinglet::router {

class SseParser {
public:
    explicit SseParser(size_t max_event_bytes = 16 << 20) : max_(max_event_bytes) {}

    // Feeds bytes; calls `on_data` for every event completed by them (events without a data field are
    // skipped). Returns false when an event grew past the limit (the parser is then unusable) or
    // `on_data` returned false.
    bool feed(std::string_view bytes, const std::function<bool(std::string_view data)>& on_data);
    // The stream ended: an event without its blank line is dispatched too (as browsers do not, but
    // servers that close right after the last data line exist).
    bool finish(const std::function<bool(std::string_view data)>& on_data);

private:
    bool line(std::string_view l, const std::function<bool(std::string_view)>& on_data);
    std::string partial_;  // the current line so far
    std::string data_;     // the current event's data
    bool has_data_ = false;
    bool last_cr_ = false; // the previous byte was CR (a following LF belongs to it)
    bool bad_ = false;
    size_t max_;
};

}  // namespace kinglet::router
