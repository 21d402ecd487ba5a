// API keys: "Authorization: Bearer KEY" checked against the configured keys. Every key is compared
// in time that does not depend on where the first differing byte is, and all keys are always
// compared, so response times do not reveal a key prefix. An empty key set means no authentication.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace kinglet::server {

class KeySet {
public:
    KeySet() = default;
    explicit KeySet(std::vector<std::string> keys);
    // Adds the keys of a file: one per line, blank lines and lines starting with '#' ignored, spaces
    // around a key trimmed. Throws Error(not_found) when unreadable, Error(invalid_file) when empty.
    void add_file(const std::string& path);
    void add(std::string key);

    bool enabled() const { return !keys_.empty(); }
    size_t size() const { return keys_.size(); }
    // The index of the matching key, or -1.
    int match(std::string_view presented) const;
    // A short, non-secret id of key `i` for logs and the ledger: "key-<i>".
    static std::string key_id(int i);

private:
    std::vector<std::string> keys_;
};

// Constant-time for equal lengths; unequal lengths return false after the same work over `b`.
bool constant_time_equal(std::string_view a, std::string_view b);

// The key from an Authorization header value ("Bearer KEY", scheme case-insensitive), or "".
std::string_view bearer_token(std::string_view header);

}  // namespace kinglet::server
