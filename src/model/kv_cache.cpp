#include "model/kv_cache.h"

#include <cstdlib>
#include <cstring>

#include "core/error.h"

namespace kinglet {

std::optional<DType> kv_type_from_name(std::string_view name) {
    if (name == "f16") return DType::F16;
    if (name == "f32") return DType::F32;
    if (name == "q8_0") return DType::Q8_0;
    return std::nullopt;
}

KvCache::KvCache(const HParams& hp, DType type, int n_blocks, int block_tokens)
    : type_(type), block_tokens_(block_tokens), n_blocks_(n_blocks), n_layer_(hp.n_layer), n_head_kv_(hp.n_head_kv),
      dk_(hp.head_dim), dv_(hp.head_dim_v), mem_(nullptr, &std::free) {
    if (type != DType::F32 && type != DType::F16 && type != DType::Q8_0)
        fail(Errc::unsupported, "KV cache type {} is not supported ({})", dtype_name(type), kKvTypeNames);
    if (type == DType::Q8_0 && (dk_ % QK8_0 != 0 || dv_ % QK8_0 != 0))
        fail(Errc::unsupported,
             "model '{}' cannot use a q8_0 KV cache: its head size ({} for keys, {} for values) is not a multiple of "
             "32, the q8_0 block size; use KV type f16 or f32",
             hp.name.empty() ? hp.arch : hp.name, dk_, dv_);
    if (n_blocks <= 0 || block_tokens <= 0) fail(Errc::invalid_argument, "KV cache needs at least one block");
    k_row_ = row_bytes(type, dk_);
    v_row_ = row_bytes(type, dv_);
    const size_t rows = static_cast<size_t>(n_layer_) * n_blocks_ * n_head_kv_ * block_tokens_;
    const size_t k_bytes = rows * k_row_, v_bytes = rows * v_row_;
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
    const size_t rows = static_cast<size_t>(n_head_kv_) * block_tokens_;
    for (int l = 0; l < n_layer_; ++l) {
        std::memcpy(k(l, dst, 0), k(l, src, 0), rows * k_row_);
        std::memcpy(v(l, dst, 0), v(l, src, 0), rows * v_row_);
    }
}

}  // namespace kinglet
