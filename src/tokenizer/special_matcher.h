// Finds added tokens (control, unknown, user_defined) in raw text: the leftmost match, and the longest
// one starting there (Hugging Face's added-vocabulary rule). "Always" tokens (user_defined) are found in
// every mode; the others only when special tokens are parsed.
#pragma once
#include <cstdint>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace kinglet::detail {

class SpecialMatcher {
  public:
    SpecialMatcher();
    void add(std::string_view text, int32_t id, bool always);

    struct Match {
        size_t start = std::string_view::npos;
        size_t len = 0;
        int32_t id = -1;
    };
    // The first match at or after `from`; start == npos when there is none.
    Match find(std::string_view text, size_t from, bool parse_special) const;
    bool empty() const { return n_tokens_ == 0; }

  private:
    int32_t child(int32_t node, uint8_t c) const {
        auto it = edges_.find((static_cast<uint64_t>(node) << 8) | c);
        return it == edges_.end() ? -1 : it->second;
    }
    std::unordered_map<uint64_t, int32_t> edges_;  // (node << 8 | byte) -> node
    std::vector<int32_t> id_;                      // per node: the token ending there, or -1
    std::vector<bool> always_;                     // per node
    bool first_any_[256] = {};
    bool first_always_[256] = {};
    size_t n_tokens_ = 0;
};

}  // namespace kinglet::detail
