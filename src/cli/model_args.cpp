#include "cli/model_args.h"

#include <chrono>
#include <cstdio>

#include "core/error.h"
#include "model/kv_cache.h"

namespace kinglet::cli {

void ModelArgs::add(CLI::App& sub, bool with_ctx) {
    sub.add_option("-m,--model", path, "GGUF model file")->required();
    sub.add_option("-t,--threads", threads, "Threads (default: physical cores)");
    if (with_ctx) sub.add_option("-c,--ctx", ctx, "Context length in tokens (default: the model's, at most 4096)");
    sub.add_option("--kv-type", kv_type, "KV cache type: f16, f32 or q8_0 (head sizes multiple of 32)")
        ->capture_default_str();
}

DType ModelArgs::kv_dtype() const {
    if (auto t = kv_type_from_name(kv_type)) return *t;
    fail(Errc::invalid_argument, "--kv-type must be {} (is '{}')", kKvTypeNames, kv_type);
}

std::shared_ptr<const Model> ModelArgs::load(bool quiet) const {
    auto t0 = std::chrono::steady_clock::now();
    std::shared_ptr<const Model> m = Model::load(path);
    if (!quiet) {
        double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        const HParams& hp = m->hparams();
        std::fprintf(stderr, "kinglet: loaded %s (%s, %d layers, %d-wide, vocab %d) in %.0f ms\n", path.c_str(),
                     hp.arch.c_str(), hp.n_layer, hp.n_embd, hp.n_vocab, ms);
        if (m->file().get_string("general.description", "").find("random weights") != std::string::npos)
            std::fprintf(stderr, "kinglet: this model was written by `kinglet synth` with RANDOM weights: its text is meaningless\n");
    }
    return m;
}

EngineOptions ModelArgs::engine_options(int max_seqs) const {
    EngineOptions o;
    o.n_ctx = ctx;
    o.n_threads = threads;
    o.max_seqs = max_seqs;
    o.kv_type = kv_dtype();
    return o;
}

}  // namespace kinglet::cli
