// A loaded model: the mapped GGUF file, its hyper-parameters and bound weights.
#pragma once
#include <memory>
#include <string>

#include "gguf/reader.h"
#include "model/hparams.h"
#include "model/weights.h"

namespace kinglet {

class Model {
public:
    // Opens, validates and binds a GGUF model. Errors name the file and what is wrong.
    static std::unique_ptr<Model> load(const std::string& path);

    const std::string& path() const { return file_->path(); }
    const gguf::Reader& file() const { return *file_; }
    const HParams& hparams() const { return hp_; }
    const ModelWeights& weights() const { return *weights_; }

private:
    std::unique_ptr<gguf::Reader> file_;
    HParams hp_;
    std::unique_ptr<ModelWeights> weights_;
};

}  // namespace kinglet
