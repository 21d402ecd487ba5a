#include "model/quant_recipe.h"

#include <cstdio>

#include "core/error.h"

namespace kinglet {
namespace {

// llama_ftype numbering (general.file_type).
const FileType kFileTypes[] = {
    {"f32", 0, DType::F32},     {"f16", 1, DType::F16},       {"q4_0", 2, DType::Q4_0},
    {"q4_1", 3, DType::Q4_1},   {"q8_0", 7, DType::Q8_0},     {"q5_0", 8, DType::Q5_0},
    {"q5_1", 9, DType::Q5_1},   {"q4_k_s", 14, DType::Q4_K},  {"q4_k_m", 15, DType::Q4_K},
    {"q5_k_s", 16, DType::Q5_K}, {"q5_k_m", 17, DType::Q5_K}, {"q6_k", 18, DType::Q6_K},
    {"bf16", 32, DType::BF16},
};

// llama.cpp gives these layers more bits in the _M mixes: the first and last eighth, and every third
// layer in between.
bool more_bits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

int layer_of(const std::string& name) {
    int i = -1;
    if (std::sscanf(name.c_str(), "blk.%d.", &i) == 1) return i;
    return -1;
}

bool ends_with(const std::string& s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A K-quant needs rows of whole 256-blocks; llama.cpp then substitutes a 32-block type.
DType fit_rows(DType t, int64_t row_len) {
    if (row_len % dtype_info(t).block_size == 0) return t;
    DType alt = t;
    switch (t) {
        case DType::Q4_K: alt = DType::Q5_0; break;
        case DType::Q5_K: alt = DType::Q5_1; break;
        case DType::Q6_K: alt = DType::Q8_0; break;
        default: break;
    }
    if (row_len % dtype_info(alt).block_size == 0) return alt;
    return DType::F16;
}

}  // namespace

FileType file_type_from_name(std::string_view name) {
    std::string lower(name);
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (const auto& f : kFileTypes)
        if (f.name == lower) return f;
    std::string list;
    for (const auto& f : kFileTypes) list += (list.empty() ? "" : ", ") + f.name;
    fail(Errc::invalid_argument, "unknown type '{}' (known: {})", name, list);
}

std::vector<std::string> file_type_names() {
    std::vector<std::string> v;
    for (const auto& f : kFileTypes) v.push_back(f.name);
    return v;
}

DType tensor_type(const FileType& ft, const std::string& name, int64_t row_len, int n_dims, int n_layer, bool tied) {
    if (n_dims == 1) return DType::F32;
    if (ft.base == DType::F32 || ft.base == DType::F16 || ft.base == DType::BF16) return ft.base;
    const bool k_mix = ft.name == "q4_k_m" || ft.name == "q5_k_m" || ft.name == "q4_k_s" || ft.name == "q5_k_s";
    const bool medium = ft.name == "q4_k_m" || ft.name == "q5_k_m";
    DType t = ft.base;
    const bool is_output = name == "output.weight" || (tied && name == "token_embd.weight");
    if (is_output && ft.base != DType::Q8_0) {
        t = DType::Q6_K;
    } else if (k_mix) {
        const int il = layer_of(name);
        if (medium && (ends_with(name, "attn_v.weight") || ends_with(name, "ffn_down.weight")) && il >= 0 &&
            more_bits(il, n_layer))
            t = DType::Q6_K;
    }
    return fit_rows(t, row_len);
}

}  // namespace kinglet
