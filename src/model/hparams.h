// Hyper-parameters of a transformer read from GGUF metadata (`{arch}.*` keys), and the per-architecture
// switches the one forward pass reads. Architectures are data: supporting a new family means a row in
// the architecture table (model/arch.cpp), not a new forward.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "gguf/reader.h"

namespace kinglet {

enum class RopeStyle { normal, neox };   // adjacent pairs (i, i+1) vs halves (i, i + n_rot/2)
enum class Activation { silu, gelu };    // of the gated feed-forward

// What differs between architectures beyond what metadata and tensor presence already say (the
// semantics are llama.cpp's, which defines what a GGUF file of each architecture means).
struct ArchSpec {
    const char* name;
    RopeStyle rope = RopeStyle::normal;
    Activation act = Activation::silu;
    bool embd_scale_sqrt = false;  // scale token embeddings by sqrt(n_embd) (Gemma)
    bool post_norms = false;       // extra norms after attention and feed-forward outputs (Gemma 2/3)
    bool qk_norms = false;         // per-head RMSNorm of queries and keys required (Gemma 3; optional elsewhere)
    // Interleaved sliding-window layers: layer i is local iff i % swa_period < swa_period - 1 (Gemma 2:
    // 2, every even layer; Gemma 3: 6, five local then one global). 0: the architecture has no sliding
    // window and `attention.sliding_window` is ignored (as llama.cpp ignores it for these families).
    int swa_period = 0;
    int swa_default = 0;           // window when the file states none (Gemma 2: 4096); 0: the key is required
    float swa_rope_base = 0;       // rope base of local layers, without scaling (Gemma 3: 10000); 0: the file's
    // Gemma: the query is multiplied by the attention scale before attention (then rounded with the cache
    // type), the scale being 1/sqrt(key_length), or 1/sqrt(n_embd / n_head) for the published 27B, which
    // llama.cpp recognises by its layer count (the file has no query_pre_attn_scalar key).
    bool query_prescale = false;
    int wide_query_scale_layers = 0;
    // tanh soft-capping of attention scores and output logits (Gemma 2), with the values used when the
    // file states none; other architectures ignore the keys, as llama.cpp does.
    bool softcaps = false;
    float default_attn_softcap = 0, default_final_softcap = 0;
};

const ArchSpec* find_arch(std::string_view name);
std::vector<std::string> supported_archs();

struct HParams {
    std::string arch;
    std::string name;          // general.name, for display
    ArchSpec spec{};
    int n_vocab = 0;
    int n_ctx_train = 0;
    int n_embd = 0;
    int n_layer = 0;
    int n_head = 0;
    int n_head_kv = 0;
    int head_dim = 0;          // key (and query) head size
    int head_dim_v = 0;        // value head size
    int n_ff = 0;
    float norm_eps = 1e-5f;
    int n_rot = 0;             // rotated dimensions per head (<= head_dim)
    float rope_base = 10000.0f;
    float rope_freq_scale = 1.0f;  // linear position scaling (1 / rope.scaling.factor)
    float rope_attn_factor = 1.0f; // rope.scaling.attn_factor: multiplies cos and sin (Phi-3 LongRoPE)
    int n_ctx_orig = 0;            // rope.scaling.original_context_length (default: the training context);
                                   // LongRoPE uses its long factors for contexts above it
    int sliding_window = 0;        // 0 = full attention on every layer; else the window of local layers
    float rope_base_swa = 10000.0f;     // rope of the local layers (equal to the global one unless the
    float rope_freq_scale_swa = 1.0f;   // architecture says otherwise)
    float attn_softcap = 0.0f;     // tanh soft-capping of attention scores (Gemma 2); 0 = off
    float final_softcap = 0.0f;    // tanh soft-capping of output logits (Gemma 2); 0 = off
    float embd_scale = 1.0f;       // multiplier on token embeddings
    float residual_scale = 1.0f;   // multiplier on each block's output before the residual add (Granite)
    float attn_scale = 0.0f;       // attention score scale; 0 = 1/sqrt(head_dim)
    float logit_scale = 1.0f;      // divisor of output logits (Granite)

    int n_gqa() const { return n_head / n_head_kv; }
    // Whether layer il attends through the sliding window (a query at p sees keys in (p - window, p]).
    bool is_local(int il) const {
        return sliding_window > 0 && spec.swa_period > 0 && il % spec.swa_period < spec.swa_period - 1;
    }
    // Whether local layers rotate with other frequencies than global ones (a second rope table).
    bool local_rope_differs() const { return rope_base_swa != rope_base || rope_freq_scale_swa != rope_freq_scale; }

    // Reads and validates everything from the file; Error(invalid_file / unsupported) naming the key.
    static HParams from_gguf(const gguf::Reader& r);
};

}  // namespace kinglet
