// Piece text -> token id, looked up with string_view (no allocation in the tokenizers' inner loops).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace kinglet::detail {

struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

class TokenIndex {
  public:
    // Returns false if `text` is already present (the caller reports the duplicate).
    bool add(const std::string& text, int32_t id) { return ids_.emplace(text, id).second; }
    int32_t find(std::string_view text) const {
        auto it = ids_.find(text);
        return it == ids_.end() ? -1 : it->second;
    }
    void reserve(size_t n) { ids_.reserve(n); }

  private:
    std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>> ids_;
};

}  // namespace kinglet::detail
