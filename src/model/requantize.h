// Re-quantizing a GGUF model to another file type (llama.cpp's `quantize`): every tensor is read,
// converted to float and written in the type the recipe (model/quant_recipe.h) gives it; metadata is
// copied with general.file_type updated.
#pragma once
#include <cstdint>
#include <functional>
#include <string>

namespace kinglet {

// Returns the bytes written. Throws Error naming the input for an unsupported architecture or type.
uint64_t requantize_model(const std::string& in, const std::string& out, const std::string& type, int threads,
                          const std::function<void(size_t, size_t)>& progress = {});

}  // namespace kinglet
