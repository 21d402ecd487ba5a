// One transformer forward pass for every supported architecture. The differences between families
// (biases, QK norms, post-norms, rope style and frequency factors, soft-capping, scales, tied output)
// are read from HParams and from which tensors are present — one code path, no per-family copies.
#pragma once
#include <cstdint>
#include <vector>

#include "core/thread_pool.h"
#include "model/batch.h"
#include "model/kv_cache.h"
#include "model/model.h"

namespace kinglet {

class Forward {
public:
    // max_tokens bounds the tokens of one run() (scratch buffers are sized for it). n_ctx is the context
    // a sequence may reach (0: the model's training context); LongRoPE models (Phi-3) choose their
    // rope factors by it, as llama.cpp does by its per-sequence context.
    Forward(const Model& model, KvCache& kv, ThreadPool& pool, int max_tokens = 512, int n_ctx = 0);

    // Its scratch pointers point into its own buffers.
    Forward(const Forward&) = delete;
    Forward& operator=(const Forward&) = delete;

    int max_tokens() const { return max_tokens_; }

    // Runs the batch: writes every token's keys/values into the cache; for each token flagged
    // kLogits, n_vocab logits into `logits` (rows in batch order among kLogits tokens); if `hidden` is
    // given, the final-normed hidden state (n_embd floats) of every token flagged kLogits or kHidden
    // (rows in batch order among those). Each token attends to positions 0..pos of its own
    // sequence; those before this batch must already be in the cache.
    void run(const Batch& batch, float* logits, float* hidden = nullptr);

private:
    void attention(int layer, const Batch& b);
    void rope(float* v, int n_heads, int head_dim, int t, bool local);
    void rope_angles(int t, int pos, float freq_scale, float theta_scale, float* cos, float* sin);

    const Model& m_;
    const HParams& hp_;
    KvCache& kv_;
    ThreadPool& pool_;
    int max_tokens_;
    // Scratch, [max_tokens][width] each. A layer's intermediates are short-lived, so they share two
    // buffers by phase rather than each having its own (for a 135M model at 128 tokens that is 1.4 MB
    // less, a tenth of the process's fixed overhead):
    //   a_: q, k, v (projections, until attention has read them) -> o (attention output projection,
    //       until added to x) -> up (until the activation) -> o again (FFN down projection);
    //   b_: att (attention result, until projected) -> gate (activation result, until projected).
    // The final-normed rows (hid_) go to xb_, free once the last layer has run.
    std::vector<float> x_, xb_, a_, b_, out_rows_;
    float *q_ = nullptr, *k_ = nullptr, *v_ = nullptr, *att_ = nullptr, *o_ = nullptr, *gate_ = nullptr,
          *up_ = nullptr, *hid_ = nullptr;
    std::vector<float> rope_cos_, rope_sin_;  // [max_tokens][n_rot/2]
    const float* rope_factors_ = nullptr;     // [n_rot/2] frequency divisors, or none
    float theta_scale_ = 1.0f;                // base^(-2/n_rot)
    // The same for local (sliding-window) layers when their rope differs (Gemma 3); empty otherwise.
    std::vector<float> rope_cos_local_, rope_sin_local_;
    float theta_scale_local_ = 1.0f;
};

}  // namespace kinglet
