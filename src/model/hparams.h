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

// What differs between architectures beyond what metadata and tensor presence already say.
struct ArchSpec {
    const char* name;
    RopeStyle rope;
    Activation act;
    bool embd_scale_sqrt;   // scale token embeddings by sqrt(n_embd) (Gemma)
    bool post_norms;        // extra norms after attention and feed-forward outputs (Gemma 2/3)
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
    int sliding_window = 0;        // 0 = full attention on every layer
    float attn_softcap = 0.0f;     // tanh soft-capping of attention scores (Gemma 2); 0 = off
    float final_softcap = 0.0f;    // tanh soft-capping of output logits (Gemma 2); 0 = off
    float embd_scale = 1.0f;       // multiplier on token embeddings
    float residual_scale = 1.0f;   // multiplier on each block's output before the residual add (Granite)
    float attn_scale = 0.0f;       // attention score scale; 0 = 1/sqrt(head_dim)
    float logit_scale = 1.0f;      // divisor of output logits (Granite)

    int n_gqa() const { return n_head / n_head_kv; }

    // Reads and validates everything from the file; Error(invalid_file / unsupported) naming the key.
    static HParams from_gguf(const gguf::Reader& r);
};

}  // namespace kinglet
