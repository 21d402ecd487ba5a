// Synthetic models: the real shape of a known model family (layer count, widths, heads, rope, context)
// and a real vocabulary from a Hugging Face tokenizer.json, with small random weights. Speed does not
// depend on weight values, so these are the benchmark models; their text is meaningless.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace kinglet {

struct SynthShape {
    std::string name;        // "smollm2-135m"
    std::string arch;        // "llama", "qwen2", "qwen3", "gemma2", "gemma3", "phi3"
    int n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff, n_vocab, n_ctx;
    float rope_base;
    float norm_eps;
    bool tied_output;
    bool qkv_bias;           // Qwen2
    bool qk_norm;            // Qwen3
    bool llama3_rope;        // rope_freqs from Llama 3.1/3.2 scaling (factor 32, low 1, high 4, original 8192)
    int sliding_window = 0;       // attention.sliding_window (Gemma 2/3); 0: not written
    float rope_linear = 0;        // rope.scaling.factor of linear scaling (Gemma 3 4B+); 0: none
    float attn_softcap = 0;       // attn_logit_softcapping / final_logit_softcapping (Gemma 2); 0: not written
    float final_softcap = 0;
    // Test shapes: weights that make the output depend visibly on every detail of the architecture
    // (matrices of unit gain, norm weights spread around 1 in the stored form, embeddings whose logits
    // spread over several nats) instead of the near-uniform output of small random weights.
    bool test_weights = false;
    // LongRoPE (Phi-3.5): the original context (rope.scaling.original_context_length); with it, long and
    // short rope factor tensors and the attention factor sqrt(1 + ln(n_ctx / orig) / ln(orig)), as the
    // GGUF converter writes them. 0: none.
    int n_ctx_orig = 0;
};

const SynthShape& synth_shape(const std::string& name);  // Error(invalid_argument) listing the names
std::vector<std::string> synth_shape_names();

struct SynthOptions {
    std::string shape;
    std::string vocab_json;   // tokenizer.json path
    std::string type = "q8_0";
    std::string output;
    uint64_t seed = 1;
    int threads = 0;
};

// Writes the model; `progress(done, total)` is called as tensors are written. Returns bytes written.
uint64_t write_synthetic_model(const SynthOptions& opt, const std::function<void(size_t, size_t)>& progress = {});

}  // namespace kinglet
