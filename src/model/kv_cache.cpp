#include "model/kv_cache.h"

#include <cstdlib>
#include <cstring>

#include "core/error.h"

namespace kinglet {

KvCache::KvCache(const HParams& hp, DType type, int n_blocks, int block_tokens)
    : type_(type), block_tokens_(block_tokens), n_blocks_(n_blocks), n_layer_(hp.n_layer), n_head_kv_(hp.n_head_kv),
      dk_(hp.head_dim), dv_(hp.head_dim_v), mem_(nullptr, &std::free) {
    if (type != DType::F32 && type != DType::F16)
        fail(Errc::unsupported, "KV cache type {} is not supported (f32, f16)", dtype_name(type));
    if (n_blocks <= 0 || block_tokens <= 0) fail(Errc::invalid_argument, "KV cache needs at least one block");
    elem_ = type == DType::F32 ? 4 : 2;
    size_t per_layer_block = static_cast<size_t>(n_head_kv_) * block_tokens_;
    size_t k_bytes = static_cast<size_t>(n_layer_) * n_blocks_ * per_layer_block * dk_ * elem_;
    size_t v_bytes = static_cast<size_t>(n_layer_) * n_blocks_ * per_layer_block * dv_ * elem_;
    bytes_ = k_bytes + v_bytes;
    size_t alloc = (bytes_ + 63) / 64 * 64;
    void* p = std::aligned_alloc(64, alloc);
    if (!p) fail(Errc::overloaded, "cannot allocate {} MiB for the KV cache", bytes_ >> 20);
    // Commit the whole pool now (as llama.cpp clears its KV buffer): the memory a server needs is
    // known and taken at start-up, so RSS stays flat under load instead of creeping up as traffic
    // reaches blocks it never touched before, and an over-large --ctx/--parallel fails here, not
    // mid-request.
    std::memset(p, 0, alloc);
    mem_.reset(static_cast<uint8_t*>(p));
    k_ = mem_.get();
    v_ = mem_.get() + k_bytes;
}

void KvCache::copy_block(int src, int dst) {
    for (int l = 0; l < n_layer_; ++l) {
        std::memcpy(k(l, dst, 0), k(l, src, 0), static_cast<size_t>(n_head_kv_) * block_tokens_ * dk_ * elem_);
        std::memcpy(v(l, dst, 0), v(l, src, 0), static_cast<size_t>(n_head_kv_) * block_tokens_ * dv_ * elem_);
    }
}

}  // namespace kinglet
