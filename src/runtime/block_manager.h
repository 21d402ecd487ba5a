// Allocation of KV cache blocks to sequences, with automatic prefix caching: a full block is
// identified by its tokens and its parent block, so a new sequence whose prompt starts with the same
// tokens (a shared system prompt, earlier turns of a chat) reuses those blocks instead of computing
// them again. Blocks nobody uses but that hold a known prefix stay cached until memory is needed
// (least recently used first).
#pragma once
#include <cstddef>
#include <cstdint>
#include <list>
#include <unordered_map>
#include <vector>

namespace kinglet {

class BlockManager {
public:
    BlockManager(int n_blocks, int block_tokens, bool prefix_caching);

    int block_tokens() const { return block_tokens_; }
    int n_blocks() const { return n_blocks_; }
    // Blocks that can be handed out now (free plus cached-but-unused).
    int available() const { return int(free_.size() + lru_.size()); }
    int in_use() const { return n_blocks_ - available(); }

    // The longest chain of cached full blocks that matches tokens[0 .. max_blocks*block_tokens),
    // each with a reference taken. Block i holds tokens [i*block_tokens, (i+1)*block_tokens).
    std::vector<int32_t> match_prefix(const std::vector<int32_t>& tokens, int max_blocks);

    // A fresh block with one reference, evicting the least recently used cached block if needed;
    // -1 when every block is referenced.
    int32_t allocate();
    void retain(int32_t block);
    void release(int32_t block);

    // Records that `block` now holds exactly `tokens` (block_tokens of them) after `parent` (-1 for
    // the first block), so later prompts can share it. No-op without prefix caching or if an equal
    // block is already registered.
    void register_full(int32_t block, int32_t parent, const int32_t* tokens);

    uint64_t prefix_hits() const { return hits_; }  // blocks reused so far

private:
    // A block's identity: its tokens and its parent block *as it was* (block ids are reused, so the
    // parent's generation — bumped each time a block is handed out anew — is part of the key; an
    // entry whose parent was evicted and reused can never match again).
    struct Key {
        int32_t parent;
        uint64_t parent_gen;
        std::vector<int32_t> tokens;
        bool operator==(const Key& o) const {
            return parent == o.parent && parent_gen == o.parent_gen && tokens == o.tokens;
        }
    };
    struct KeyHash {
        size_t operator()(const Key& k) const;
    };
    void forget(int32_t block);

    int n_blocks_, block_tokens_;
    bool caching_;
    std::vector<int32_t> refs_;
    std::vector<int32_t> free_;                            // never hashed or forgotten
    std::list<int32_t> lru_;                               // hashed, refcount 0, oldest first
    std::vector<std::list<int32_t>::iterator> lru_pos_;
    std::vector<uint8_t> in_lru_;
    std::unordered_map<Key, int32_t, KeyHash> by_key_;
    std::vector<Key> key_of_;                              // for blocks in by_key_
    std::vector<uint8_t> hashed_;
    std::vector<uint64_t> gen_;
    uint64_t hits_ = 0;
};

}  // namespace kinglet
