#include "server/auth.h"

#include <fstream>

#include "core/error.h"

namespace kinglet::server {

bool constant_time_equal(std::string_view a, std::string_view b) {
    // Walk the configured key `b` in full whatever `a` is; fold length and content differences into
    // one accumulator read only at the end.
    volatile unsigned char diff = a.size() == b.size() ? 0 : 1;
    for (size_t i = 0; i < b.size(); ++i) {
        const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
        diff = diff | (x ^ static_cast<unsigned char>(b[i]));
    }
    return diff == 0;
}

KeySet::KeySet(std::vector<std::string> keys) {
    for (auto& k : keys) add(std::move(k));
}

void KeySet::add(std::string key) {
    if (key.empty()) fail(Errc::invalid_argument, "an API key must not be empty");
    keys_.push_back(std::move(key));
}

void KeySet::add_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) fail(Errc::not_found, "{}: cannot open the API keys file", path);
    std::string line;
    size_t added = 0;
    while (std::getline(in, line)) {
        const size_t b = line.find_first_not_of(" \t\r");
        if (b == std::string::npos || line[b] == '#') continue;
        const size_t e = line.find_last_not_of(" \t\r");
        add(line.substr(b, e - b + 1));
        ++added;
    }
    if (added == 0) fail(Errc::invalid_file, "{}: the API keys file has no key (one per line)", path);
}

int KeySet::match(std::string_view presented) const {
    int found = -1;
    for (size_t i = 0; i < keys_.size(); ++i)
        if (constant_time_equal(presented, keys_[i]) && found < 0) found = int(i);
    return found;
}

std::string KeySet::key_id(int i) { return i < 0 ? "" : "key-" + std::to_string(i); }

std::string_view bearer_token(std::string_view h) {
    while (!h.empty() && h.front() == ' ') h.remove_prefix(1);
    constexpr std::string_view scheme = "bearer ";
    if (h.size() < scheme.size()) return {};
    for (size_t i = 0; i < scheme.size(); ++i)
        if (char(std::tolower(static_cast<unsigned char>(h[i]))) != scheme[i]) return {};
    h.remove_prefix(scheme.size());
    while (!h.empty() && h.front() == ' ') h.remove_prefix(1);
    while (!h.empty() && (h.back() == ' ' || h.back() == '\r')) h.remove_suffix(1);
    return h;
}

}  // namespace kinglet::server
