// Paged key/value storage. Memory is a pool of blocks of `block_tokens` positions; a sequence owns
// an ordered list of blocks (its block table), so sequences of different lengths share one pool and
// full blocks can be shared between sequences with a common prefix. Which blocks a sequence owns is
// decided by runtime/; this class only stores and addresses them.
// Layout per layer and block: [head][slot][dim], contiguous per head so attention streams it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

#include "model/hparams.h"
#include "tensor/dtype.h"

namespace kinglet {

class KvCache {
public:
    // type: F32 or F16.
    KvCache(const HParams& hp, DType type, int n_blocks, int block_tokens = 32);

    DType type() const { return type_; }
    int block_tokens() const { return block_tokens_; }
    int n_blocks() const { return n_blocks_; }
    size_t bytes() const { return bytes_; }
    size_t elem_size() const { return elem_; }

    // Start of the [block_tokens][dim] keys (values) of one head in one block of one layer.
    uint8_t* k(int layer, int block, int head) const { return base(k_, layer, block, head, dk_); }
    uint8_t* v(int layer, int block, int head) const { return base(v_, layer, block, head, dv_); }
    int dim_k() const { return dk_; }
    int dim_v() const { return dv_; }

    // Copies every layer's keys and values of `src` block into `dst` block (copy-on-write).
    void copy_block(int src, int dst);

private:
    uint8_t* base(uint8_t* p, int layer, int block, int head, int dim) const {
        size_t idx = ((static_cast<size_t>(layer) * n_blocks_ + block) * n_head_kv_ + head) *
                     static_cast<size_t>(block_tokens_) * dim;
        return p + idx * elem_;
    }
    DType type_;
    int block_tokens_, n_blocks_, n_layer_, n_head_kv_, dk_, dv_;
    size_t elem_, bytes_;
    std::unique_ptr<uint8_t, void (*)(void*)> mem_;
    uint8_t* k_;
    uint8_t* v_;
};

}  // namespace kinglet
