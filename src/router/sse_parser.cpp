#include "router/sse_parser.h"

namespace kinglet::router {

bool SseParser::line(std::string_view l, const std::function<bool(std::string_view)>& on_data) {
    if (l.empty()) {
        if (!has_data_) return true;
        has_data_ = false;
        std::string d;
        d.swap(data_);
        return on_data(d);
    }
    if (l[0] == ':') return true;
    const size_t colon = l.find(':');
    std::string_view field = l.substr(0, colon);
    std::string_view value = colon == std::string_view::npos ? std::string_view() : l.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
    if (field != "data") return true;
    if (has_data_) data_ += '\n';
    data_.append(value);
    has_data_ = true;
    if (data_.size() > max_) {
        bad_ = true;
        return false;
    }
    return true;
}

bool SseParser::feed(std::string_view bytes, const std::function<bool(std::string_view)>& on_data) {
    if (bad_) return false;
    for (char c : bytes) {
        if (c == '\n' && last_cr_) {
            last_cr_ = false;
            continue;
        }
        last_cr_ = c == '\r';
        if (c == '\n' || c == '\r') {
            std::string l;
            l.swap(partial_);
            if (!line(l, on_data)) {
                bad_ = true;
                return false;
            }
            continue;
        }
        partial_ += c;
        if (partial_.size() > max_) {
            bad_ = true;
            return false;
        }
    }
    return true;
}

bool SseParser::finish(const std::function<bool(std::string_view)>& on_data) {
    if (bad_) return false;
    if (!partial_.empty()) {
        std::string l;
        l.swap(partial_);
        if (!line(l, on_data)) return false;
    }
    return line("", on_data);
}

}  // namespace kinglet::router
