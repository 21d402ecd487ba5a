#include "model/model.h"

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
    return m;
}

}  // namespace kinglet
