#include "model/hparams.h"

#include <cmath>

#include "core/error.h"

namespace kinglet {
namespace {

// The families kinglet runs. Everything else (biases, tied output, rope frequency factors, QK norms,
// GQA) is read from tensor presence and metadata.
constexpr ArchSpec kArchs[] = {
    {.name = "llama"},
    {.name = "mistral"},
    {.name = "granite"},
    {.name = "qwen2", .rope = RopeStyle::neox},
    {.name = "qwen3", .rope = RopeStyle::neox},
    // Phi-3/3.5: fused QKV and gate-up tensors (model/weights.cpp), LongRoPE factors by context length;
    // llama.cpp ignores their attention.sliding_window (it disabled Phi's SWA), and so does kinglet.
    {.name = "phi3", .rope = RopeStyle::neox, .query_prescale = true},
    {.name = "gemma2", .rope = RopeStyle::neox, .act = Activation::gelu, .embd_scale_sqrt = true, .post_norms = true,
     .swa_period = 2, .swa_default = 4096, .query_prescale = true, .wide_query_scale_layers = 46,
     .softcaps = true, .default_attn_softcap = 50.0f, .default_final_softcap = 30.0f},
    {.name = "gemma3", .rope = RopeStyle::neox, .act = Activation::gelu, .embd_scale_sqrt = true, .post_norms = true,
     .qk_norms = true, .swa_period = 6, .swa_rope_base = 10000.0f, .query_prescale = true,
     .wide_query_scale_layers = 62},
};

}  // namespace

const ArchSpec* find_arch(std::string_view name) {
    for (const auto& a : kArchs)
        if (name == a.name) return &a;
    return nullptr;
}

std::vector<std::string> supported_archs() {
    std::vector<std::string> v;
    for (const auto& a : kArchs) v.push_back(a.name);
    return v;
}

HParams HParams::from_gguf(const gguf::Reader& r) {
    HParams h;
    h.arch = r.get_string("general.architecture");
    const ArchSpec* spec = find_arch(h.arch);
    if (!spec) {
        std::string list;
        for (auto& a : supported_archs()) list += (list.empty() ? "" : ", ") + a;
        fail(Errc::unsupported, "{}: architecture '{}' is not supported (supported: {})", r.path(), h.arch, list);
    }
    h.spec = *spec;
    h.name = r.get_string("general.name", "");
    const std::string p = h.arch + ".";

    // Some converters write per-layer arrays for head counts; kinglet needs them uniform.
    auto get_uniform = [&](const std::string& key, std::optional<int64_t> def) -> int64_t {
        const gguf::Value* v = r.find(key);
        if (!v) {
            if (def) return *def;
            fail(Errc::invalid_file, "{}: required metadata '{}' is missing", r.path(), key);
        }
        if (v->is_array()) {
            if (v->size() == 0) fail(Errc::invalid_file, "{}: metadata '{}' is an empty array", r.path(), key);
            int64_t first = v->int_at(0);
            for (size_t i = 1; i < v->size(); ++i)
                if (v->int_at(i) != first)
                    fail(Errc::unsupported, "{}: metadata '{}' differs between layers; not supported", r.path(), key);
            return first;
        }
        return v->as_i64(fmt::format("{}: metadata '{}'", r.path(), key));
    };
    auto positive = [&](const std::string& key, int64_t v, int64_t max) -> int {
        if (v <= 0 || v > max)
            fail(Errc::invalid_file, "{}: metadata '{}' = {} is out of range (1 to {})", r.path(), key, v, max);
        return static_cast<int>(v);
    };

    h.n_embd = positive(p + "embedding_length", r.get_int(p + "embedding_length"), 1 << 16);
    h.n_layer = positive(p + "block_count", r.get_int(p + "block_count"), 1024);
    h.n_ctx_train = positive(p + "context_length", r.get_int(p + "context_length"), 1 << 24);
    h.n_ff = positive(p + "feed_forward_length", get_uniform(p + "feed_forward_length", std::nullopt), 1 << 20);
    h.n_head = positive(p + "attention.head_count", get_uniform(p + "attention.head_count", std::nullopt), 1024);
    h.n_head_kv = positive(p + "attention.head_count_kv",
                           get_uniform(p + "attention.head_count_kv", h.n_head), 1024);
    if (h.n_head % h.n_head_kv != 0)
        fail(Errc::invalid_file, "{}: head_count {} is not a multiple of head_count_kv {}", r.path(), h.n_head,
             h.n_head_kv);
    int64_t def_hd = h.n_embd / h.n_head;
    h.head_dim = positive(p + "attention.key_length", r.get_int(p + "attention.key_length", def_hd), 4096);
    h.head_dim_v = positive(p + "attention.value_length", r.get_int(p + "attention.value_length", h.head_dim), 4096);
    h.n_rot = positive(p + "rope.dimension_count", r.get_int(p + "rope.dimension_count", h.head_dim), h.head_dim);
    if (h.n_rot % 2 != 0) fail(Errc::invalid_file, "{}: rope.dimension_count {} is odd", r.path(), h.n_rot);
    h.norm_eps = static_cast<float>(r.get_float(p + "attention.layer_norm_rms_epsilon", 1e-5));
    if (!(h.norm_eps > 0 && h.norm_eps < 1))
        fail(Errc::invalid_file, "{}: layer_norm_rms_epsilon {} is out of range", r.path(), h.norm_eps);
    h.rope_base = static_cast<float>(r.get_float(p + "rope.freq_base", 10000.0));
    if (!(h.rope_base > 1)) fail(Errc::invalid_file, "{}: rope.freq_base {} is out of range", r.path(), h.rope_base);

    std::string scaling = r.get_string(p + "rope.scaling.type", "none");
    if (scaling == "linear") {
        double f = r.get_float(p + "rope.scaling.factor", 1.0);
        if (!(f > 0)) fail(Errc::invalid_file, "{}: rope.scaling.factor {} is out of range", r.path(), f);
        h.rope_freq_scale = static_cast<float>(1.0 / f);
    } else if (scaling != "none" && scaling != "") {
        // Llama 3 scaling is stored as the rope_freqs tensor and needs no key; YaRN and others are not done.
        double f = r.get_float(p + "rope.scaling.factor", 1.0);
        if (f != 1.0 && f != 0.0)
            fail(Errc::unsupported, "{}: rope scaling type '{}' (factor {}) is not supported", r.path(), scaling, f);
    }

    h.rope_attn_factor = static_cast<float>(r.get_float(p + "rope.scaling.attn_factor", 1.0));
    if (!(h.rope_attn_factor > 0) || !std::isfinite(h.rope_attn_factor))
        fail(Errc::invalid_file, "{}: rope.scaling.attn_factor {} is out of range", r.path(), h.rope_attn_factor);
    h.n_ctx_orig = positive(p + "rope.scaling.original_context_length",
                            r.get_int(p + "rope.scaling.original_context_length", h.n_ctx_train), 1 << 24);
    h.rope_base_swa = h.rope_base;
    h.rope_freq_scale_swa = h.rope_freq_scale;
    if (h.spec.swa_period > 0) {
        const std::string key = p + "attention.sliding_window";
        if (!r.find(key) && h.spec.swa_default == 0)
            fail(Errc::invalid_file, "{}: required metadata '{}' is missing", r.path(), key);
        const int64_t w = r.get_int(key, h.spec.swa_default);
        h.sliding_window = positive(key, w, 1 << 24);
        if (h.spec.swa_rope_base > 0) {
            h.rope_base_swa = h.spec.swa_rope_base;
            h.rope_freq_scale_swa = 1.0f;
        }
    }
    if (h.spec.softcaps) {
        h.attn_softcap = static_cast<float>(r.get_float(p + "attn_logit_softcapping", h.spec.default_attn_softcap));
        h.final_softcap = static_cast<float>(r.get_float(p + "final_logit_softcapping", h.spec.default_final_softcap));
    }
    if (!(h.attn_softcap >= 0) || !(h.final_softcap >= 0) || !std::isfinite(h.attn_softcap) ||
        !std::isfinite(h.final_softcap))
        fail(Errc::invalid_file, "{}: logit soft-capping {} / {} is out of range", r.path(), h.attn_softcap,
             h.final_softcap);
    if (h.spec.query_prescale)
        h.attn_scale = h.n_layer == h.spec.wide_query_scale_layers
                           ? 1.0f / std::sqrt(float(h.n_embd / h.n_head))
                           : 1.0f / std::sqrt(float(h.head_dim));
    if (h.arch == "granite") {
        h.embd_scale = static_cast<float>(r.get_float(p + "embedding_scale", 1.0));
        h.residual_scale = static_cast<float>(r.get_float(p + "residual_scale", 1.0));
        h.attn_scale = static_cast<float>(r.get_float(p + "attention.scale", 0.0));
        h.logit_scale = static_cast<float>(r.get_float(p + "logit_scale", 1.0));
        if (h.logit_scale == 0) h.logit_scale = 1.0f;
    }
    if (h.spec.embd_scale_sqrt) h.embd_scale = std::sqrt(static_cast<float>(h.n_embd));

    // The vocabulary size is the token embedding's row count; metadata may state it too.
    if (const gguf::TensorInfo* t = r.find_tensor("token_embd.weight")) h.n_vocab = static_cast<int>(t->ne[1]);
    else if (const gguf::Value* v = r.find("tokenizer.ggml.tokens"); v && v->is_array()) h.n_vocab = static_cast<int>(v->size());
    return h;
}

}  // namespace kinglet
