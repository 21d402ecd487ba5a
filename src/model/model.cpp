#include "model/model.h"

#include <malloc.h>

#include <cstdlib>
#include <optional>
#include <string_view>

#include "core/error.h"
#include "tensor/kernels/kernels.h"
#include "tensor/rows16.h"

namespace kinglet {

std::unique_ptr<Model> Model::load(const std::string& path) {
    auto m = std::unique_ptr<Model>(new Model());
    m->file_ = gguf::Reader::open(path);
    m->hp_ = HParams::from_gguf(*m->file_);
    m->weights_ = ModelWeights::bind(*m->file_, m->hp_);
    // The kernel family's grouped types (kernels::Family::rows16). KINGLET_ROWS16=0 keeps the file's layout,
    // KINGLET_ROWS16=q8_0 (q4_0, q5_0, q4_1, q5_1, q4_K, q5_K, q6_K) regroups that type only: to measure what
    // the regrouping gives, with one binary.
    const std::string_view rows16 = std::getenv("KINGLET_ROWS16") ? std::getenv("KINGLET_ROWS16") : "";
    uint64_t types = kernels::active().rows16;
    if (!rows16.empty() && rows16 != "0") {
        const std::optional<DType> only = dtype_from_name(rows16);
        if (!only || !rows16_type(*only))
            fail(Errc::invalid_argument,
                 "KINGLET_ROWS16='{}': expected 0, q8_0, q4_0, q5_0, q4_1, q5_1, q4_K, q5_K or q6_K (or "
                 "unset)",
                 rows16);
        types &= dtype_bit(*only);
    }
    if (rows16 == "0") types = 0;
    if (types) m->weights_->regroup_rows16(m->file_->file(), types);
    m->tokenizer_ = std::make_shared<const Tokenizer>(Vocab::from_gguf(*m->file_));
    if (m->tokenizer_->n_vocab() != m->hp_.n_vocab)
        fail(Errc::invalid_file, "{}: the vocabulary has {} tokens but token_embd has {} rows", path,
             m->tokenizer_->n_vocab(), m->hp_.n_vocab);
    // The tokenizer holds the vocabulary now; the parsed copies of its arrays (tens of MB for a
    // 150k-token vocabulary) would otherwise stay resident beside it for the model's lifetime.
    for (const char* key : {"tokenizer.ggml.tokens", "tokenizer.ggml.merges", "tokenizer.ggml.scores",
                            "tokenizer.ggml.token_type"})
        m->file_->release(key);
    malloc_trim(0);  // hand the freed pages back to the system rather than keep them in the heap
    return m;
}

}  // namespace kinglet
