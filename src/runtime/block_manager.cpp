#include "runtime/block_manager.h"

#include "core/error.h"

namespace kinglet {

size_t BlockManager::KeyHash::operator()(const Key& k) const {
    uint64_t h = 0x9E3779B97F4A7C15ull ^ static_cast<uint64_t>(static_cast<uint32_t>(k.parent)) ^ (k.parent_gen << 32);
    for (int32_t t : k.tokens) {
        h ^= static_cast<uint64_t>(static_cast<uint32_t>(t)) + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
    }
    return static_cast<size_t>(h);
}

BlockManager::BlockManager(int n_blocks, int block_tokens, bool prefix_caching)
    : n_blocks_(n_blocks), block_tokens_(block_tokens), caching_(prefix_caching), refs_(n_blocks, 0),
      lru_pos_(n_blocks), in_lru_(n_blocks, 0), key_of_(n_blocks), hashed_(n_blocks, 0), gen_(n_blocks, 0) {
    free_.reserve(n_blocks);
    for (int i = n_blocks - 1; i >= 0; --i) free_.push_back(i);  // hand out low ids first
}

std::vector<int32_t> BlockManager::match_prefix(const std::vector<int32_t>& tokens, int max_blocks) {
    std::vector<int32_t> out;
    if (!caching_) return out;
    int32_t parent = -1;
    Key key;
    for (int i = 0; i < max_blocks && size_t(i + 1) * block_tokens_ <= tokens.size(); ++i) {
        key.parent = parent;
        key.parent_gen = parent < 0 ? 0 : gen_[parent];
        key.tokens.assign(tokens.begin() + size_t(i) * block_tokens_, tokens.begin() + size_t(i + 1) * block_tokens_);
        auto it = by_key_.find(key);
        if (it == by_key_.end()) break;
        retain(it->second);
        out.push_back(it->second);
        parent = it->second;
    }
    hits_ += out.size();
    return out;
}

int32_t BlockManager::allocate() {
    int32_t b;
    if (!free_.empty()) {
        b = free_.back();
        free_.pop_back();
    } else if (!lru_.empty()) {
        b = lru_.front();
        lru_.pop_front();
        in_lru_[b] = 0;
        forget(b);
    } else {
        return -1;
    }
    refs_[b] = 1;
    gen_[b]++;
    return b;
}

void BlockManager::retain(int32_t b) {
    if (refs_[b]++ == 0 && in_lru_[b]) {
        lru_.erase(lru_pos_[b]);
        in_lru_[b] = 0;
    }
}

void BlockManager::release(int32_t b) {
    if (refs_[b] <= 0) fail(Errc::internal, "KV block {} released more often than taken", b);
    if (--refs_[b] > 0) return;
    if (hashed_[b]) {
        lru_.push_back(b);
        lru_pos_[b] = std::prev(lru_.end());
        in_lru_[b] = 1;
    } else {
        free_.push_back(b);
    }
}

void BlockManager::forget(int32_t b) {
    if (!hashed_[b]) return;
    by_key_.erase(key_of_[b]);
    key_of_[b] = Key{};
    hashed_[b] = 0;
}

void BlockManager::register_full(int32_t b, int32_t parent, const int32_t* tokens) {
    if (!caching_ || hashed_[b]) return;
    Key key{parent, parent < 0 ? 0 : gen_[parent], std::vector<int32_t>(tokens, tokens + block_tokens_)};
    if (by_key_.count(key)) return;
    key_of_[b] = key;
    by_key_.emplace(std::move(key), b);
    hashed_[b] = 1;
}

}  // namespace kinglet
