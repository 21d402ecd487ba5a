// Which type each tensor of a model gets for a named file type ("q4_k_m", "q8_0", ...), following
// llama.cpp's recipes so that a file kinglet writes has the same mix of types as the file llama.cpp
// would write from the same weights: K-quant mixes give the output head and some attn_v / ffn_down
// layers more bits, and a tensor whose rows cannot hold whole blocks falls back to a type that can.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "tensor/dtype.h"

namespace kinglet {

struct FileType {
    std::string name;      // "q4_k_m"
    uint32_t ggml_id;      // general.file_type value (llama_ftype)
    DType base;            // most matrices
};

// Throws Error(invalid_argument) listing the known names.
FileType file_type_from_name(std::string_view name);
std::vector<std::string> file_type_names();

// The type for tensor `name` (GGUF naming: "blk.3.attn_v.weight", "output.weight", ...) with rows of
// `row_len` elements, in a model of `n_layer` layers whose output head is `tied` to token_embd.
// One-dimensional tensors (norms, biases) are always F32.
DType tensor_type(const FileType& ft, const std::string& name, int64_t row_len, int n_dims, int n_layer, bool tied);

}  // namespace kinglet
