#include "model/synth.h"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/thread_pool.h"
#include "gguf/writer.h"
#include "model/quant_recipe.h"
#include "tensor/quant.h"
#include "tokenizer/vocab.h"

namespace kinglet {
namespace {

// Published configurations of each family (config.json of the Hugging Face repositories).
const SynthShape kShapes[] = {
    // name, arch, embd, layers, heads, kv, head_dim, ff, vocab, ctx, rope base, eps, tied, bias, qk_norm, llama3
    {"tiny", "llama", 256, 4, 8, 4, 32, 768, 0, 2048, 10000.0f, 1e-5f, true, false, false, false},
    {"smollm2-135m", "llama", 576, 30, 9, 3, 64, 1536, 49152, 8192, 100000.0f, 1e-5f, true, false, false, false},
    {"smollm2-360m", "llama", 960, 32, 15, 5, 64, 2560, 49152, 8192, 100000.0f, 1e-5f, true, false, false, false},
    {"qwen2.5-0.5b", "qwen2", 896, 24, 14, 2, 64, 4864, 151936, 32768, 1000000.0f, 1e-6f, true, true, false, false},
    {"qwen2.5-1.5b", "qwen2", 1536, 28, 12, 2, 128, 8960, 151936, 32768, 1000000.0f, 1e-6f, true, true, false, false},
    {"qwen3-0.6b", "qwen3", 1024, 28, 16, 8, 128, 3072, 151936, 40960, 1000000.0f, 1e-6f, true, false, true, false},
    {"llama-3.2-1b", "llama", 2048, 16, 32, 8, 64, 8192, 128256, 131072, 500000.0f, 1e-5f, true, false, false, true},
    {"llama-3.2-3b", "llama", 3072, 28, 24, 8, 128, 8192, 128256, 131072, 500000.0f, 1e-5f, true, false, false, true},
    // Gemma: norm weights as the GGUF converter stores them (1 + the checkpoint's), QK norms (Gemma 3).
    {"gemma3-1b", "gemma3", 1152, 26, 4, 1, 256, 6912, 262144, 32768, 1000000.0f, 1e-6f, true, false, true, false, 512},
    {"gemma3-4b", "gemma3", 2560, 34, 8, 4, 256, 10240, 262144, 131072, 1000000.0f, 1e-6f, true, false, true, false,
     1024, 8.0f},
    {"gemma2-2b", "gemma2", 2304, 26, 8, 4, 256, 9216, 256000, 8192, 10000.0f, 1e-6f, true, false, false, false, 4096,
     0, 50.0f, 30.0f},
    // Test shapes (tests/model/arch_reference_test.cpp): a few layers, windows shorter than the test
    // prompts, a linear rope scaling of the global layers and soft-caps small enough to bite.
    {"tiny-gemma3", "gemma3", 256, 7, 4, 2, 64, 512, 0, 2048, 1000000.0f, 1e-6f, true, false, true, false, 8, 4.0f,
     0, 0, true},
    // Phi-3: fused attn_qkv and ffn_up (gate and up stacked), untied output; llama.cpp ignores the
    // sliding window these files state. tiny-phi3's LongRoPE switches to its long factors above 512.
    {"phi-3-mini-4k", "phi3", 3072, 32, 32, 32, 96, 8192, 32064, 4096, 10000.0f, 1e-5f, false, false, false, false,
     2047},
    {"phi-3.5-mini", "phi3", 3072, 32, 32, 32, 96, 8192, 32064, 131072, 10000.0f, 1e-5f, false, false, false, false,
     262144, 0, 0, 0, false, 4096},
    {"tiny-phi3", "phi3", 256, 4, 4, 4, 64, 512, 0, 4096, 10000.0f, 1e-5f, false, false, false, false, 2047, 0, 0, 0,
     true, 512},
    {"tiny-gemma2", "gemma2", 256, 5, 4, 2, 64, 512, 0, 2048, 10000.0f, 1e-6f, true, false, false, false, 8, 0, 2.0f,
     20.0f, true},
    // Llama with rows of 256 (whole K-quant super-blocks) and few weights, for the low-bit files that
    // llama.cpp's quantizer writes for tests/model/lowbit_reference_test.cpp (with a 320-token vocabulary).
    {"tiny-lowbit", "llama", 256, 1, 8, 4, 32, 256, 0, 256, 10000.0f, 1e-5f, true, false, false, false, 0, 0, 0, 0,
     true},
};

// Llama 3.1+ rope scaling as published with the models: long wavelengths are slowed by `factor`,
// short ones kept, and the band between interpolated; llama.cpp stores the divisors as rope_freqs.
std::vector<float> llama3_rope_factors(int n_rot, float base) {
    const double factor = 32.0, low = 1.0, high = 4.0, orig = 8192.0;
    const double low_wavelen = orig / low, high_wavelen = orig / high;
    std::vector<float> f(n_rot / 2);
    for (int i = 0; i < n_rot / 2; ++i) {
        const double freq = 1.0 / std::pow(double(base), 2.0 * i / n_rot);
        const double wavelen = 2 * M_PI / freq;
        if (wavelen < high_wavelen) f[i] = 1.0f;
        else if (wavelen > low_wavelen) f[i] = float(factor);
        else {
            const double smooth = (orig / wavelen - low) / (high - low);
            f[i] = float(1.0 / ((1 - smooth) / factor + smooth));
        }
    }
    return f;
}

// A counter-based generator (splitmix64): each tensor's values depend only on the seed, the tensor's
// name and the element index, so rows can be generated in parallel and reproducibly.
uint64_t splitmix(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

uint64_t hash_name(const std::string& s, uint64_t seed) {
    uint64_t h = seed ^ 0xCBF29CE484222325ull;
    for (unsigned char c : s) h = (h ^ c) * 0x100000001B3ull;
    return h;
}

// Approximately normal(0, sigma): the sum of four uniforms, centred and scaled.
float gauss(uint64_t key, uint64_t i, float sigma) {
    uint64_t r = splitmix(key ^ (i * 0x9E3779B97F4A7C15ull));
    float s = 0;
    for (int k = 0; k < 4; ++k) s += float((r >> (16 * k)) & 0xFFFF) / 65535.0f;
    return (s - 2.0f) * sigma * 1.7320508f;  // variance of the sum is 4/12
}

}  // namespace

const SynthShape& synth_shape(const std::string& name) {
    for (const auto& s : kShapes)
        if (s.name == name) return s;
    std::string list;
    for (const auto& s : kShapes) list += (list.empty() ? "" : ", ") + s.name;
    fail(Errc::invalid_argument, "unknown shape '{}' (known: {})", name, list);
}

std::vector<std::string> synth_shape_names() {
    std::vector<std::string> v;
    for (const auto& s : kShapes) v.push_back(s.name);
    return v;
}

uint64_t write_synthetic_model(const SynthOptions& opt, const std::function<void(size_t, size_t)>& progress) {
    SynthShape sh = synth_shape(opt.shape);
    const FileType ft = file_type_from_name(opt.type);
    Vocab vocab = Vocab::from_hf_json(opt.vocab_json);
    // Phi-3's vocabulary is Llama 2's plus these control tokens (llama.cpp looks some of them up by
    // name when it loads a Phi-3 file, and they select the phi3 chat template); add them when missing.
    if (sh.arch == "phi3" && vocab.tokens.find("<|endoftext|>") < 0)
        for (const char* t : {"<|endoftext|>", "<|assistant|>", "<|placeholder1|>", "<|placeholder2|>",
                              "<|placeholder3|>", "<|placeholder4|>", "<|system|>", "<|end|>", "<|placeholder5|>",
                              "<|placeholder6|>", "<|user|>"}) {
            vocab.tokens.push_back(t);
            vocab.scores.push_back(0.0f);
            vocab.types.push_back(TokenType::control);
        }
    if (sh.n_vocab < vocab.n_tokens()) sh.n_vocab = vocab.n_tokens();
    vocab.pad_to(sh.n_vocab);

    gguf::Writer w;
    const std::string a = sh.arch + ".";
    w.set("general.architecture", gguf::Value::string(sh.arch));
    w.set("general.name", gguf::Value::string("synthetic " + sh.name + " (random weights)"));
    w.set("general.description",
          gguf::Value::string("Written by kinglet synth: a real shape and vocabulary with random weights; its text is meaningless."));
    w.set("general.file_type", gguf::Value::u32(ft.ggml_id));
    w.set("general.alignment", gguf::Value::u32(32));
    w.set(a + "context_length", gguf::Value::u32(uint32_t(sh.n_ctx)));
    w.set(a + "embedding_length", gguf::Value::u32(uint32_t(sh.n_embd)));
    w.set(a + "block_count", gguf::Value::u32(uint32_t(sh.n_layer)));
    w.set(a + "feed_forward_length", gguf::Value::u32(uint32_t(sh.n_ff)));
    w.set(a + "attention.head_count", gguf::Value::u32(uint32_t(sh.n_head)));
    w.set(a + "attention.head_count_kv", gguf::Value::u32(uint32_t(sh.n_head_kv)));
    w.set(a + "attention.key_length", gguf::Value::u32(uint32_t(sh.head_dim)));
    w.set(a + "attention.value_length", gguf::Value::u32(uint32_t(sh.head_dim)));
    w.set(a + "attention.layer_norm_rms_epsilon", gguf::Value::f32(sh.norm_eps));
    w.set(a + "rope.freq_base", gguf::Value::f32(sh.rope_base));
    w.set(a + "rope.dimension_count", gguf::Value::u32(uint32_t(sh.head_dim)));
    w.set(a + "vocab_size", gguf::Value::u32(uint32_t(sh.n_vocab)));
    if (sh.sliding_window > 0) w.set(a + "attention.sliding_window", gguf::Value::u32(uint32_t(sh.sliding_window)));
    if (sh.rope_linear > 0) {
        w.set(a + "rope.scaling.type", gguf::Value::string("linear"));
        w.set(a + "rope.scaling.factor", gguf::Value::f32(sh.rope_linear));
    }
    if (sh.n_ctx_orig > 0) {
        const double scale = double(sh.n_ctx) / sh.n_ctx_orig;
        w.set(a + "rope.scaling.original_context_length", gguf::Value::u32(uint32_t(sh.n_ctx_orig)));
        w.set(a + "rope.scaling.attn_factor",
              gguf::Value::f32(float(scale > 1 ? std::sqrt(1 + std::log(scale) / std::log(double(sh.n_ctx_orig))) : 1.0)));
    }
    if (sh.attn_softcap > 0) w.set(a + "attn_logit_softcapping", gguf::Value::f32(sh.attn_softcap));
    if (sh.final_softcap > 0) w.set(a + "final_logit_softcapping", gguf::Value::f32(sh.final_softcap));
    vocab.to_gguf(w);

    struct Spec {
        std::string name;
        std::vector<int64_t> ne;
        float sigma;      // 0: constant `value`; else value + normal(0, sigma)
        float value;
        const std::vector<float>* fixed;
    };
    std::vector<Spec> specs;
    const int64_t d = sh.n_embd, qd = int64_t(sh.n_head) * sh.head_dim, kd = int64_t(sh.n_head_kv) * sh.head_dim;
    // Small random weights (benchmarks), or the test weights described in synth.h.
    const bool tw = sh.test_weights;
    const float s = 0.02f;
    auto mat = [&](int64_t cols) { return tw ? 1.0f / std::sqrt(float(cols)) : s; };
    // Test weights: embeddings of unit norm, so that (Gemma's sqrt(n_embd) scale included) no block is
    // drowned by the token's own embedding; block outputs amplified by their post-norms (about 2) and
    // logits spread by the output norm (about 4: several nats between the first tokens).
    const float norm_sigma = tw ? 0.5f : 0.0f, embd_sigma = tw ? 1.0f / std::sqrt(float(d)) : s;
    const float out_norm = tw ? 4.0f : 1.0f, post_norm = tw ? 2.0f : 1.0f;
    const bool post_norms = sh.arch == "gemma2" || sh.arch == "gemma3";
    std::vector<float> rope_factors;
    specs.push_back({"token_embd.weight", {d, sh.n_vocab}, embd_sigma, 0, nullptr});
    specs.push_back({"output_norm.weight", {d}, norm_sigma, out_norm, nullptr});
    if (!sh.tied_output) specs.push_back({"output.weight", {d, sh.n_vocab}, embd_sigma, 0, nullptr});
    if (sh.llama3_rope) {
        rope_factors = llama3_rope_factors(sh.head_dim, sh.rope_base);
        specs.push_back({"rope_freqs.weight", {sh.head_dim / 2}, 0, 0, &rope_factors});
    }
    // LongRoPE factors shaped like Phi-3.5's: about 1 for the fast dimensions, growing for the slow
    // ones (long: up to about 40; short: up to about 2).
    std::vector<float> rope_long, rope_short;
    if (sh.n_ctx_orig > 0) {
        for (int i = 0; i < sh.head_dim / 2; ++i) {
            const float x = float(i) / float(sh.head_dim / 2 - 1);
            rope_long.push_back(1.0f + 39.0f * x * x * x);
            rope_short.push_back(1.0f + x * x);
        }
        specs.push_back({"rope_factors_long.weight", {sh.head_dim / 2}, 0, 0, &rope_long});
        specs.push_back({"rope_factors_short.weight", {sh.head_dim / 2}, 0, 0, &rope_short});
    }
    const bool fused = sh.arch == "phi3";
    for (int i = 0; i < sh.n_layer; ++i) {
        const std::string b = "blk." + std::to_string(i) + ".";
        specs.push_back({b + "attn_norm.weight", {d}, norm_sigma, 1.0f, nullptr});
        if (fused) {
            specs.push_back({b + "attn_qkv.weight", {d, qd + 2 * kd}, mat(d), 0, nullptr});
        } else {
            specs.push_back({b + "attn_q.weight", {d, qd}, mat(d), 0, nullptr});
            specs.push_back({b + "attn_k.weight", {d, kd}, mat(d), 0, nullptr});
            specs.push_back({b + "attn_v.weight", {d, kd}, mat(d), 0, nullptr});
        }
        if (sh.qkv_bias) {
            specs.push_back({b + "attn_q.bias", {qd}, s, 0, nullptr});
            specs.push_back({b + "attn_k.bias", {kd}, s, 0, nullptr});
            specs.push_back({b + "attn_v.bias", {kd}, s, 0, nullptr});
        }
        if (sh.qk_norm) {
            specs.push_back({b + "attn_q_norm.weight", {sh.head_dim}, norm_sigma, 1.0f, nullptr});
            specs.push_back({b + "attn_k_norm.weight", {sh.head_dim}, norm_sigma, 1.0f, nullptr});
        }
        specs.push_back({b + "attn_output.weight", {qd, d}, mat(qd), 0, nullptr});
        if (post_norms) specs.push_back({b + "post_attention_norm.weight", {d}, norm_sigma, post_norm, nullptr});
        specs.push_back({b + "ffn_norm.weight", {d}, norm_sigma, 1.0f, nullptr});
        if (fused) {
            specs.push_back({b + "ffn_up.weight", {d, 2 * int64_t(sh.n_ff)}, mat(d), 0, nullptr});
        } else {
            specs.push_back({b + "ffn_gate.weight", {d, sh.n_ff}, mat(d), 0, nullptr});
            specs.push_back({b + "ffn_up.weight", {d, sh.n_ff}, mat(d), 0, nullptr});
        }
        specs.push_back({b + "ffn_down.weight", {sh.n_ff, d}, mat(sh.n_ff), 0, nullptr});
        if (post_norms) specs.push_back({b + "post_ffw_norm.weight", {d}, norm_sigma, post_norm, nullptr});
    }

    ThreadPool pool(opt.threads > 0 ? opt.threads : default_thread_count());
    size_t done = 0;
    for (const Spec& sp : specs) {
        const DType t = tensor_type(ft, sp.name, sp.ne[0], int(sp.ne.size()), sh.n_layer, sh.tied_output);
        const uint64_t key = hash_name(sp.name, opt.seed);
        const Spec* spp = &sp;
        w.add_tensor(sp.name, t, sp.ne, [spp, t, key, &pool, &done, &progress, total = specs.size()](uint8_t* dst, size_t) {
            const int64_t cols = spp->ne[0];
            int64_t rows = 1;
            for (size_t k = 1; k < spp->ne.size(); ++k) rows *= spp->ne[k];
            const size_t rb = row_bytes(t, cols);
            pool.parallel_for(rows, 16, [&](int64_t r0, int64_t r1) {
                std::vector<float> row(cols);
                for (int64_t r = r0; r < r1; ++r) {
                    for (int64_t c = 0; c < cols; ++c) {
                        if (spp->fixed) row[c] = (*spp->fixed)[c];
                        else if (spp->sigma == 0) row[c] = spp->value;
                        else row[c] = spp->value + gauss(key, uint64_t(r * cols + c), spp->sigma);
                    }
                    quantize_row(t, row.data(), dst + r * rb, cols);
                }
            });
            if (progress) progress(++done, total);
        });
    }
    w.write(opt.output);
    struct stat st {};
    ::stat(opt.output.c_str(), &st);
    return uint64_t(st.st_size);
}

}  // namespace kinglet
