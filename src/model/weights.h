// Binding of GGUF tensors to the roles the forward pass uses. Matrices stay in the memory map in
// their stored type; small vectors (norms, biases, rope frequency factors) are converted to F32 once.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "gguf/reader.h"
#include "model/hparams.h"
#include "tensor/ops.h"

namespace kinglet {

struct LayerWeights {
    const float* attn_norm = nullptr;
    MatRef wq, wk, wv, wo;
    const float* bq = nullptr;  // optional biases (Qwen2)
    const float* bk = nullptr;
    const float* bv = nullptr;
    const float* bo = nullptr;
    const float* q_norm = nullptr;  // optional per-head RMSNorm of Q and K (Qwen3, Gemma 3)
    const float* k_norm = nullptr;
    const float* post_attn_norm = nullptr;  // Gemma 2/3
    const float* ffn_norm = nullptr;
    MatRef w_gate, w_up, w_down;
    const float* post_ffn_norm = nullptr;   // Gemma 2/3
};

struct ModelWeights {
    MatRef tok_embd;
    const float* output_norm = nullptr;
    MatRef output;                // token_embd when the output head is tied
    bool tied_output = false;
    const float* rope_freqs = nullptr;  // n_rot/2 frequency divisors (Llama 3 scaling), optional
    const float* rope_long = nullptr;   // LongRoPE divisors (Phi-3) for contexts above n_ctx_orig, optional
    const float* rope_short = nullptr;  // and for the others
    std::vector<LayerWeights> layers;

    // Binds every tensor, checking names, shapes and types against the hyper-parameters.
    // Errors name the file, the tensor and the problem.
    static std::unique_ptr<ModelWeights> bind(const gguf::Reader& r, const HParams& hp);
    size_t matrix_bytes() const;  // bytes of weights a decode step reads

    // Stores every matrix of the types in `types` (dtype_bit(t) for DType t) that can_repack_rows16 in
    // Layout::kRows16 (tensor/rows16.h), for the kernel families that want it: copies in memory of the
    // same size, the file's pages released.
    void regroup_rows16(const MappedFile& file, uint64_t types);

private:
    std::vector<std::vector<float>> owned_;  // F32 copies of small vectors
    std::vector<std::unique_ptr<uint8_t, void (*)(void*)>> grouped_;  // kRows16 copies
};

}  // namespace kinglet
