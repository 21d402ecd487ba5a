// Options every command that runs a model shares (-m, -t, --ctx, --kv-type), and loading with a
// message on stderr.
#pragma once
#include <memory>
#include <string>

#include "cli/command.h"
#include "model/model.h"
#include "runtime/engine.h"

namespace kinglet::cli {

struct ModelArgs {
    std::string path;
    int threads = 0;
    int ctx = 0;
    std::string kv_type = "f16";

    void add(CLI::App& sub, bool with_ctx = true);
    std::shared_ptr<const Model> load(bool quiet = false) const;
    EngineOptions engine_options(int max_seqs = 1) const;
    DType kv_dtype() const;
};

}  // namespace kinglet::cli
