#include "model/model.h"

#include <malloc.h>

#include "core/error.h"

namespace kinglet {

std::unique_ptr<Model> Model::load(const std::string& path) {
    auto m = std::unique_ptr<Model>(new Model());
    m->file_ = gguf::Reader::open(path);
    m->hp_ = HParams::from_gguf(*m->file_);
    m->weights_ = ModelWeights::bind(*m->file_, m->hp_);
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
