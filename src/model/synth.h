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
    std::string arch;        // "llama", "qwen2", "qwen3"
    int n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff, n_vocab, n_ctx;
    float rope_base;
    float norm_eps;
    bool tied_output;
    bool qkv_bias;           // Qwen2
    bool qk_norm;            // Qwen3
    bool llama3_rope;        // rope_freqs from Llama 3.1/3.2 scaling (factor 32, low 1, high 4, original 8192)
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
