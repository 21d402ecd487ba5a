#include "model/weights.h"

#include <cstdlib>

#include "core/error.h"
#include "core/thread_pool.h"
#include "tensor/quant.h"
#include "tensor/rows16.h"

namespace kinglet {
namespace {

class Binder {
public:
    Binder(const gguf::Reader& r, std::vector<std::vector<float>>& owned) : r_(r), owned_(owned) {}

    const gguf::TensorInfo* find(const std::string& name, bool required) {
        const gguf::TensorInfo* t = r_.find_tensor(name);
        if (!t && required) fail(Errc::invalid_file, "{}: tensor '{}' is missing", r_.path(), name);
        if (t) used_++;
        return t;
    }

    MatRef matrix(const std::string& name, int64_t cols, int64_t rows, bool required = true) {
        const gguf::TensorInfo* t = find(name, required);
        if (!t) return {};
        if (t->n_dims > 2 || t->ne[0] != cols || t->ne[1] != rows)
            fail(Errc::invalid_file, "{}: tensor '{}' has shape {}, expected [{}, {}]", r_.path(), name,
                 t->shape_string(), cols, rows);
        if (!dtype_info(t->type).computable)
            fail(Errc::unsupported, "{}: tensor '{}' has type {}, which kinglet cannot compute with yet", r_.path(),
                 name, dtype_name(t->type));
        MatRef m;
        m.type = t->type;
        m.data = t->data;
        m.cols = cols;
        m.rows = rows;
        m.row_bytes = row_bytes(t->type, cols);
        return m;
    }

    const float* vector(const std::string& name, int64_t n, bool required = true) {
        const gguf::TensorInfo* t = find(name, required);
        if (!t) return nullptr;
        if (t->n_elements() != n)
            fail(Errc::invalid_file, "{}: tensor '{}' has shape {}, expected [{}]", r_.path(), name, t->shape_string(), n);
        if (!can_dequantize(t->type))
            fail(Errc::unsupported, "{}: tensor '{}' has type {}, which kinglet cannot read", r_.path(), name,
                 dtype_name(t->type));
        owned_.emplace_back(static_cast<size_t>(n));
        dequantize_row(t->type, t->data, owned_.back().data(), n);
        return owned_.back().data();
    }

    size_t used() const { return used_; }

private:
    const gguf::Reader& r_;
    std::vector<std::vector<float>>& owned_;
    size_t used_ = 0;
};

}  // namespace

std::unique_ptr<ModelWeights> ModelWeights::bind(const gguf::Reader& r, const HParams& hp) {
    auto w = std::make_unique<ModelWeights>();
    Binder b(r, w->owned_);
    const int64_t d = hp.n_embd, q_dim = int64_t(hp.n_head) * hp.head_dim, k_dim = int64_t(hp.n_head_kv) * hp.head_dim,
                  v_dim = int64_t(hp.n_head_kv) * hp.head_dim_v, o_in = int64_t(hp.n_head) * hp.head_dim_v;

    w->tok_embd = b.matrix("token_embd.weight", d, hp.n_vocab);
    w->output_norm = b.vector("output_norm.weight", d);
    w->output = b.matrix("output.weight", d, hp.n_vocab, false);
    if (!w->output.data) {
        w->output = w->tok_embd;
        w->tied_output = true;
    }
    w->rope_freqs = b.vector("rope_freqs.weight", hp.n_rot / 2, false);
    w->rope_long = b.vector("rope_factors_long.weight", hp.n_rot / 2, false);
    w->rope_short = b.vector("rope_factors_short.weight", hp.n_rot / 2, false);
    if (!w->rope_long != !w->rope_short)
        fail(Errc::invalid_file, "{}: tensor '{}' is missing (LongRoPE needs both factor tensors)", r.path(),
             w->rope_long ? "rope_factors_short.weight" : "rope_factors_long.weight");

    w->layers.resize(hp.n_layer);
    for (int i = 0; i < hp.n_layer; ++i) {
        LayerWeights& L = w->layers[i];
        auto n = [i](const char* s) { return fmt::format("blk.{}.{}", i, s); };
        L.attn_norm = b.vector(n("attn_norm.weight"), d);
        // Q, K and V stored apart, or fused (Phi-3: attn_qkv, rows Q then K then V).
        if (r.find_tensor(n("attn_qkv.weight"))) {
            const MatRef qkv = b.matrix(n("attn_qkv.weight"), d, q_dim + k_dim + v_dim);
            L.wq = qkv.slice_rows(0, q_dim);
            L.wk = qkv.slice_rows(q_dim, k_dim);
            L.wv = qkv.slice_rows(q_dim + k_dim, v_dim);
        } else {
            L.wq = b.matrix(n("attn_q.weight"), d, q_dim);
            L.wk = b.matrix(n("attn_k.weight"), d, k_dim);
            L.wv = b.matrix(n("attn_v.weight"), d, v_dim);
        }
        L.wo = b.matrix(n("attn_output.weight"), o_in, d);
        L.bq = b.vector(n("attn_q.bias"), q_dim, false);
        L.bk = b.vector(n("attn_k.bias"), k_dim, false);
        L.bv = b.vector(n("attn_v.bias"), v_dim, false);
        L.bo = b.vector(n("attn_output.bias"), d, false);
        L.q_norm = b.vector(n("attn_q_norm.weight"), hp.head_dim, hp.spec.qk_norms);
        L.k_norm = b.vector(n("attn_k_norm.weight"), hp.head_dim, hp.spec.qk_norms);
        L.ffn_norm = b.vector(n("ffn_norm.weight"), d);
        // Gate and up apart, or stacked in ffn_up (Phi-3: 2 * n_ff rows, the gate's first), as llama.cpp
        // reads a file without ffn_gate.
        if (r.find_tensor(n("ffn_gate.weight"))) {
            L.w_gate = b.matrix(n("ffn_gate.weight"), d, hp.n_ff);
            L.w_up = b.matrix(n("ffn_up.weight"), d, hp.n_ff);
        } else {
            const MatRef gate_up = b.matrix(n("ffn_up.weight"), d, 2 * int64_t(hp.n_ff));
            L.w_gate = gate_up.slice_rows(0, hp.n_ff);
            L.w_up = gate_up.slice_rows(hp.n_ff, hp.n_ff);
        }
        L.w_down = b.matrix(n("ffn_down.weight"), hp.n_ff, d);
        if (hp.spec.post_norms) {
            L.post_attn_norm = b.vector(n("post_attention_norm.weight"), d);
            L.post_ffn_norm = b.vector(n("post_ffw_norm.weight"), d);
        }
    }
    if (b.used() != r.tensors().size()) {
        for (const auto& t : r.tensors()) {
            // Report the first tensor the architecture does not use: a sign the file is of another kind.
            bool known = t.name == "token_embd.weight" || t.name == "output_norm.weight" ||
                         t.name == "output.weight" || t.name == "rope_freqs.weight" ||
                         t.name == "rope_factors_long.weight" || t.name == "rope_factors_short.weight" ||
                         t.name.rfind("blk.", 0) == 0;
            if (!known)
                fail(Errc::unsupported, "{}: tensor '{}' is not used by the {} architecture", r.path(), t.name, hp.arch);
        }
    }
    return w;
}

void ModelWeights::regroup_rows16(const MappedFile& file, uint64_t types) {
    std::vector<std::pair<const void*, MatRef>> done;  // by the plain data they replace
    auto regroup = [&](MatRef& m) {
        for (const auto& [from, to] : done)
            if (from == m.data && to.rows == m.rows) {
                m = to;
                return;
            }
        if (!can_repack_rows16(m) || !(types & dtype_bit(m.type))) return;
        const size_t bytes = m.row_bytes * static_cast<size_t>(m.rows);
        uint8_t* buf = static_cast<uint8_t*>(std::aligned_alloc(64, (bytes + 63) / 64 * 64));
        if (!buf)
            fail(Errc::overloaded, "cannot allocate {} MiB to regroup a {} matrix", bytes >> 20,
                 dtype_name(m.type));
        grouped_.emplace_back(buf, &std::free);
        const MatRef g = repack_rows16(m, buf, default_thread_count());
        file.release(m.data, bytes);
        done.emplace_back(m.data, g);
        m = g;
    };
    regroup(output);
    // The embedding table is only read a row at a time: regrouped only where it is the output head too.
    for (const auto& [from, to] : done)
        if (from == tok_embd.data && to.rows == tok_embd.rows) tok_embd = to;
    for (auto& L : layers)
        for (MatRef* m : {&L.wq, &L.wk, &L.wv, &L.wo, &L.w_gate, &L.w_up, &L.w_down}) regroup(*m);
}

size_t ModelWeights::matrix_bytes() const {
    auto bytes = [](const MatRef& m) { return m.data ? m.row_bytes * static_cast<size_t>(m.rows) : 0; };
    size_t total = bytes(output);
    for (const auto& L : layers)
        total += bytes(L.wq) + bytes(L.wk) + bytes(L.wv) + bytes(L.wo) + bytes(L.w_gate) + bytes(L.w_up) +
                 bytes(L.w_down);
    return total;
}

}  // namespace kinglet
