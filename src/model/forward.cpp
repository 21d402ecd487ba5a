#include "model/forward.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "tensor/ops.h"

namespace kinglet {

Forward::Forward(const Model& model, KvCache& kv, ThreadPool& pool, int max_tokens, int n_ctx)
    : m_(model), hp_(model.hparams()), kv_(kv), pool_(pool), max_tokens_(max_tokens) {
    const size_t T = static_cast<size_t>(max_tokens);
    const size_t d = hp_.n_embd, qd = size_t(hp_.n_head) * hp_.head_dim, kd = size_t(hp_.n_head_kv) * hp_.head_dim,
                 vd = size_t(hp_.n_head_kv) * hp_.head_dim_v, ad = size_t(hp_.n_head) * hp_.head_dim_v;
    const size_t ff = size_t(hp_.n_ff);
    x_.resize(T * d);
    xb_.resize(T * d);
    a_.resize(T * std::max({qd + kd + vd, d, ff}));
    b_.resize(T * std::max(ad, ff));
    q_ = a_.data();
    k_ = q_ + T * qd;
    v_ = k_ + T * kd;
    o_ = up_ = a_.data();
    att_ = gate_ = b_.data();
    hid_ = xb_.data();
    const int half = hp_.n_rot / 2;
    rope_cos_.resize(T * half);
    rope_sin_.resize(T * half);
    const ModelWeights& W = m_.weights();
    // LongRoPE: the long factors when a sequence may outgrow the original context, as llama.cpp.
    const int ctx = n_ctx > 0 ? n_ctx : hp_.n_ctx_train;
    rope_factors_ = W.rope_freqs ? W.rope_freqs : W.rope_long && ctx > hp_.n_ctx_orig ? W.rope_long : W.rope_short;
    theta_scale_ = std::pow(hp_.rope_base, -2.0f / float(hp_.n_rot));
    bool any_local = false;
    for (int l = 0; l < hp_.n_layer; ++l) any_local |= hp_.is_local(l);
    if (any_local && hp_.local_rope_differs()) {
        rope_cos_local_.resize(T * half);
        rope_sin_local_.resize(T * half);
        theta_scale_local_ = std::pow(hp_.rope_base_swa, -2.0f / float(hp_.n_rot));
    }
}

// Angles as ggml computes them (a float running product of the frequency ratio, divided by the
// frequency factor, times the linear scale; cos and sin times the attention factor), so that rounded
// keys and queries agree with llama.cpp's bit for bit.
void Forward::rope_angles(int t, int pos, float freq_scale, float theta_scale, float* cos, float* sin) {
    const int half = hp_.n_rot / 2;
    const float* ff = rope_factors_;
    const float mscale = hp_.rope_attn_factor;
    float theta = float(pos);
    for (int i = 0; i < half; ++i) {
        const float th = freq_scale * (ff ? theta / ff[i] : theta);
        cos[size_t(t) * half + i] = std::cos(th) * mscale;
        sin[size_t(t) * half + i] = std::sin(th) * mscale;
        theta *= theta_scale;
    }
}

void Forward::rope(float* v, int n_heads, int head_dim, int t, bool local) {
    const int half = hp_.n_rot / 2;
    const bool own = local && !rope_cos_local_.empty();
    const float* c = &(own ? rope_cos_local_ : rope_cos_)[size_t(t) * half];
    const float* s = &(own ? rope_sin_local_ : rope_sin_)[size_t(t) * half];
    // Fused multiply-adds, as llama.cpp's build computes the rotation (same bits for the same angles).
    rope_rows(v, n_heads, head_dim, hp_.n_rot, c, s, hp_.spec.rope != RopeStyle::normal);
}

// Attention of every query row over its sequence's cache. The kernel (tensor/ops.h attention) runs the
// online softmax in one pass; with an F16 cache it rounds as llama.cpp's CPU flash attention does, so
// kinglet's F16-cache results agree with llama.cpp's to the rounding the reference tolerances assume;
// with a Q8_0 cache it quantizes the query and dots it with the keys' blocks, as llama.cpp does.
void Forward::attention(int layer, const Batch& b) {
    const int T = b.size();
    const int hd = hp_.head_dim, hdv = hp_.head_dim_v, gqa = hp_.n_gqa();
    const int BT = kv_.block_tokens();
    // With a pre-scaled query (Gemma) the kernel's scale is 1, as llama.cpp's.
    const float scale = hp_.spec.query_prescale ? 1.0f : hp_.attn_scale > 0 ? hp_.attn_scale : 1.0f / std::sqrt(float(hd));
    const int window = hp_.is_local(layer) ? hp_.sliding_window : 0;
    const size_t qd = size_t(hp_.n_head) * hd, ad = size_t(hp_.n_head) * hdv;
    // KvCache's layout is [layer][block][kv head][slot][dim]: one block further is n_head_kv heads on.
    const size_t k_block = size_t(hp_.n_head_kv) * BT * kv_.k_row_bytes(),
                 v_block = size_t(hp_.n_head_kv) * BT * kv_.v_row_bytes();

    // One work item is a token's query heads that share a key/value head (or part of them, when there
    // are too few items to keep every thread busy): each key and value row is read once per item.
    const int n_kv = hp_.n_head_kv;
    int parts = 1;
    while (parts < gqa && int64_t(T) * n_kv * parts < 2 * int64_t(pool_.size())) ++parts;
    const int per = (gqa + parts - 1) / parts;
    pool_.parallel_for(int64_t(T) * n_kv * parts, 1, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) {
            const int t = int(i / (int64_t(n_kv) * parts)), g = int(i / parts % n_kv), part = int(i % parts);
            const int h0 = g * gqa + part * per, nh = std::min(per, (g + 1) * gqa - h0);
            if (nh <= 0) continue;
            const BatchSeq& s = b.seqs[b.seq[t]];
            AttentionArgs args;
            args.kv_type = kv_.type();
            args.head_dim = hd;
            args.head_dim_v = hdv;
            args.n_pos = b.pos[t] + 1;
            args.first_pos = window > 0 ? std::max(0, b.pos[t] + 1 - window) : 0;
            args.k = {kv_.k(layer, 0, g), s.blocks, k_block, BT};
            args.v = {kv_.v(layer, 0, g), s.blocks, v_block, BT};
            args.scale = scale;
            args.softcap = hp_.attn_softcap;
            attention_group(args, nh, &q_[size_t(t) * qd + size_t(h0) * hd], size_t(hd),
                            &att_[size_t(t) * ad + size_t(h0) * hdv], size_t(hdv));
        }
    });
}

void Forward::run(const Batch& b, float* logits, float* hidden) {
    const int T = b.size();
    if (T == 0) return;
    if (T > max_tokens_) fail(Errc::internal, "batch of {} tokens exceeds the forward's limit {}", T, max_tokens_);
    const ModelWeights& W = m_.weights();
    const int d = hp_.n_embd, hd = hp_.head_dim, hdv = hp_.head_dim_v;
    const size_t qd = size_t(hp_.n_head) * hd, kd = size_t(hp_.n_head_kv) * hd, vd = size_t(hp_.n_head_kv) * hdv;
    const int BT = kv_.block_tokens();

    for (int t = 0; t < T; ++t) {
        if (b.token[t] < 0 || b.token[t] >= hp_.n_vocab)
            fail(Errc::invalid_argument, "token id {} is outside the vocabulary (0..{})", b.token[t], hp_.n_vocab - 1);
        const BatchSeq& s = b.seqs[b.seq[t]];
        if (b.pos[t] < 0 || b.pos[t] / BT >= s.n_blocks)
            fail(Errc::internal, "position {} has no KV block ({} blocks)", b.pos[t], s.n_blocks);
        get_row(W.tok_embd, b.token[t], &x_[size_t(t) * d]);
        if (hp_.embd_scale != 1.0f)
            for (int i = 0; i < d; ++i) x_[size_t(t) * d + i] *= hp_.embd_scale;
        rope_angles(t, b.pos[t], hp_.rope_freq_scale, theta_scale_, rope_cos_.data(), rope_sin_.data());
        if (!rope_cos_local_.empty())
            rope_angles(t, b.pos[t], hp_.rope_freq_scale_swa, theta_scale_local_, rope_cos_local_.data(),
                        rope_sin_local_.data());
    }

    auto add_bias = [&](float* y, const float* bias, size_t width) {
        if (!bias) return;
        for (int t = 0; t < T; ++t)
            for (size_t i = 0; i < width; ++i) y[t * width + i] += bias[i];
    };
    auto norm_rows = [&](const float* src, const float* w, float* dst, int width) {
        // Four rows per range where there are enough (rmsnorm_rows overlaps four rows' sums).
        pool_.parallel_for(T, T >= 8 ? 4 : 2, [&](int64_t t0, int64_t t1) {
            rmsnorm_rows(src + t0 * width, w, dst + t0 * width, t1 - t0, width, hp_.norm_eps);
        });
    };

    for (int l = 0; l < hp_.n_layer; ++l) {
        const LayerWeights& L = W.layers[l];
        norm_rows(x_.data(), L.attn_norm, xb_.data(), d);
        const MatmulOut qkv[] = {{&L.wq, q_}, {&L.wk, k_}, {&L.wv, v_}};
        matmul(qkv, 3, xb_.data(), T, pool_);
        add_bias(q_, L.bq, qd);
        add_bias(k_, L.bk, kd);
        add_bias(v_, L.bv, vd);
        // Per token: query/key norms, rotation and the KV cache writes (each token has its own cache
        // slot), spread over the pool: on the calling thread alone they left the other threads idle for
        // a few percent of a batched step.
        pool_.parallel_for(T, 2, [&](int64_t t0, int64_t t1) {
            for (int t = int(t0); t < int(t1); ++t) {
                float* q = &q_[size_t(t) * qd];
                float* k = &k_[size_t(t) * kd];
                if (L.q_norm)
                    for (int h = 0; h < hp_.n_head; ++h)
                        rmsnorm(q + size_t(h) * hd, L.q_norm, q + size_t(h) * hd, hd, hp_.norm_eps);
                if (L.k_norm)
                    for (int h = 0; h < hp_.n_head_kv; ++h)
                        rmsnorm(k + size_t(h) * hd, L.k_norm, k + size_t(h) * hd, hd, hp_.norm_eps);
                rope(q, hp_.n_head, hd, t, hp_.is_local(l));
                rope(k, hp_.n_head_kv, hd, t, hp_.is_local(l));
                if (hp_.spec.query_prescale)
                    for (size_t i = 0; i < qd; ++i) q[i] *= hp_.attn_scale;
                const BatchSeq& s = b.seqs[b.seq[t]];
                const int blk = s.blocks[b.pos[t] / BT], slot = b.pos[t] % BT;
                for (int g = 0; g < hp_.n_head_kv; ++g) {
                    to_kv_row(kv_.type(), k + size_t(g) * hd, kv_.k(l, blk, g) + size_t(slot) * kv_.k_row_bytes(), hd);
                    to_kv_row(kv_.type(), &v_[size_t(t) * vd + size_t(g) * hdv],
                              kv_.v(l, blk, g) + size_t(slot) * kv_.v_row_bytes(), hdv);
                }
            }
        });
        attention(l, b);
        matmul(L.wo, att_, T, o_, pool_);
        add_bias(o_, L.bo, d);
        if (L.post_attn_norm) norm_rows(o_, L.post_attn_norm, o_, d);
        for (size_t i = 0; i < size_t(T) * d; ++i) x_[i] += hp_.residual_scale * o_[i];

        norm_rows(x_.data(), L.ffn_norm, xb_.data(), d);
        const MatmulOut gate_up[] = {{&L.w_gate, gate_}, {&L.w_up, up_}};
        matmul(gate_up, 2, xb_.data(), T, pool_);
        pool_.parallel_for(T, 4, [&](int64_t t0, int64_t t1) {
            for (int64_t t = t0; t < t1; ++t) {
                float* g = &gate_[size_t(t) * hp_.n_ff];
                const float* u = &up_[size_t(t) * hp_.n_ff];
                if (hp_.spec.act == Activation::gelu) geglu(g, u, g, hp_.n_ff);
                else swiglu(g, u, g, hp_.n_ff);
            }
        });
        matmul(L.w_down, gate_, T, o_, pool_);
        if (L.post_ffn_norm) norm_rows(o_, L.post_ffn_norm, o_, d);
        for (size_t i = 0; i < size_t(T) * d; ++i) x_[i] += hp_.residual_scale * o_[i];
    }

    // Only the rows that want outputs go through the final norm and the (large) output matrix.
    int n_hid = 0, n_out = 0;
    bool all_logits = true;
    for (int t = 0; t < T; ++t) {
        if (b.output[t] == Batch::kNone) continue;
        ++n_hid;
        if (b.output[t] == Batch::kLogits) ++n_out;
        else all_logits = false;
    }
    if (n_hid == T) {  // decode: every row (contiguous)
        rmsnorm_rows(x_.data(), W.output_norm, hid_, T, d, hp_.norm_eps);
    } else {
        for (int t = 0, h = 0; t < T; ++t)
            if (b.output[t] != Batch::kNone)
                rmsnorm(&x_[size_t(t) * d], W.output_norm, &hid_[size_t(h++) * d], d, hp_.norm_eps);
    }
    if (n_hid == 0) return;
    if (hidden) std::memcpy(hidden, hid_, size_t(n_hid) * d * 4);
    if (!logits || n_out == 0) return;
    const float* rows = hid_;
    if (!all_logits) {
        out_rows_.resize(size_t(n_out) * d);
        for (int t = 0, h = 0, o = 0; t < T; ++t) {
            if (b.output[t] == Batch::kNone) continue;
            if (b.output[t] == Batch::kLogits) std::memcpy(&out_rows_[size_t(o++) * d], &hid_[size_t(h) * d], size_t(d) * 4);
            ++h;
        }
        rows = out_rows_.data();
    }
    matmul(W.output, rows, n_out, logits, pool_);
    const size_t nl = size_t(n_out) * hp_.n_vocab;
    if (hp_.logit_scale != 1.0f)
        for (size_t i = 0; i < nl; ++i) logits[i] /= hp_.logit_scale;
    if (hp_.final_softcap > 0)
        for (size_t i = 0; i < nl; ++i) logits[i] = hp_.final_softcap * std::tanh(logits[i] * (1.0f / hp_.final_softcap));
}

}  // namespace kinglet
