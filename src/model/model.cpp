#include "model/model.h"

namespace kinglet {

std::unique_ptr<Model> Model::load(const std::string& path) {
    auto m = std::unique_ptr<Model>(new Model());
    m->file_ = gguf::Reader::open(path);
    m->hp_ = HParams::from_gguf(*m->file_);
    m->weights_ = ModelWeights::bind(*m->file_, m->hp_);
    return m;
}

}  // namespace kinglet
