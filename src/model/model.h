// A loaded model: the mapped GGUF file, its hyper-parameters, bound weights and vocabulary.
#pragma once
#include <memory>
#include <string>

#include "gguf/reader.h"
#include "model/hparams.h"
#include "model/weights.h"
#include "tokenizer/tokenizer.h"

namespace kinglet {

class Model {
public:
    // Opens, validates and binds a GGUF model. Errors name the file and what is wrong.
    static std::unique_ptr<Model> load(const std::string& path);

    const std::string& path() const { return file_->path(); }
    const gguf::Reader& file() const { return *file_; }
    const HParams& hparams() const { return hp_; }
    const ModelWeights& weights() const { return *weights_; }
    const std::shared_ptr<const Tokenizer>& tokenizer() const { return tokenizer_; }
    // tokenizer.chat_template from the file ("" when absent).
    const std::string& chat_template() const { return tokenizer_->vocab().chat_template; }

private:
    std::unique_ptr<gguf::Reader> file_;
    HParams hp_;
    std::unique_ptr<ModelWeights> weights_;
    std::shared_ptr<const Tokenizer> tokenizer_;
};

}  // namespace kinglet
