// Paged key/value storage. Memory is a pool of blocks of `block_tokens` positions; a sequence owns
// an ordered list of blocks (its block table), so sequences of different lengths share one pool and
// full blocks can be shared between sequences with a common prefix. Which blocks a sequence owns is
// decided by runtime/; this class only stores and addresses them.
// Layout per layer and block: [head][slot][row], contiguous per head so attention streams it. A row is
// one position's keys (values) of one head in the cache's type: F32, F16, or Q8_0 (head_dim / 32
// blocks of ggml's block_q8_0, 34 bytes per 32 elements, as llama.cpp's q8_0 cache).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "model/hparams.h"
#include "tensor/dtype.h"

namespace kinglet {

// The KV cache types by their user-facing names ("f16", "f32", "q8_0"); nullopt for anything else.
std::optional<DType> kv_type_from_name(std::string_view name);
inline constexpr const char* kKvTypeNames = "f16, f32 or q8_0";

class KvCache {
public:
    // type: F32, F16 or Q8_0. Q8_0 needs head sizes that are multiples of 32; any other model is an
    // Error(unsupported) naming the model and the types it can use.
    KvCache(const HParams& hp, DType type, int n_blocks, int block_tokens = 32);

    DType type() const { return type_; }
    int block_tokens() const { return block_tokens_; }
    int n_blocks() const { return n_blocks_; }
    size_t bytes() const { return bytes_; }
    // Bytes of one position's keys (values) of one head.
    size_t k_row_bytes() const { return k_row_; }
    size_t v_row_bytes() const { return v_row_; }

    // Start of the [block_tokens] rows of keys (values) of one head in one block of one layer.
    uint8_t* k(int layer, int block, int head) const { return base(k_, layer, block, head, k_row_); }
    uint8_t* v(int layer, int block, int head) const { return base(v_, layer, block, head, v_row_); }
    int dim_k() const { return dk_; }
    int dim_v() const { return dv_; }

    // Copies every layer's keys and values of `src` block into `dst` block (copy-on-write).
    void copy_block(int src, int dst);

private:
    uint8_t* base(uint8_t* p, int layer, int block, int head, size_t row) const {
        size_t rows = ((static_cast<size_t>(layer) * n_blocks_ + block) * n_head_kv_ + head) *
                      static_cast<size_t>(block_tokens_);
        return p + rows * row;
    }
    DType type_;
    int block_tokens_, n_blocks_, n_layer_, n_head_kv_, dk_, dv_;
    size_t k_row_, v_row_, bytes_;
    std::unique_ptr<uint8_t, void (*)(void*)> mem_;
    uint8_t* k_;
    uint8_t* v_;
};

}  // namespace kinglet
