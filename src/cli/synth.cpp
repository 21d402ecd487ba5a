// kinglet synth: write a random-weight model of a real shape with a real vocabulary (benchmarks, tests).
#include <cstdio>

#include "cli/command.h"
#include "model/quant_recipe.h"
#include "model/synth.h"

namespace kinglet::cli {
namespace {

const Registrar registrar{Command{
    "synth",
    "Write a model of a real shape and vocabulary with random weights (for benchmarks and tests)",
    [](CLI::App& sub) {
        auto o = std::make_shared<SynthOptions>();
        std::string shapes, types;
        for (auto& s : synth_shape_names()) shapes += (shapes.empty() ? "" : ", ") + s;
        for (auto& s : file_type_names()) types += (types.empty() ? "" : ", ") + s;
        sub.add_option("--shape", o->shape, "Model shape: " + shapes)->required();
        sub.add_option("--vocab", o->vocab_json,
                       "Hugging Face tokenizer.json (tokenizer_config.json beside it supplies the chat template)")
            ->required()
            ->check(CLI::ExistingFile);
        sub.add_option("--type", o->type, "Weight types, as llama.cpp's file types: " + types)->capture_default_str();
        sub.add_option("-o,--output", o->output, "Output GGUF file")->required();
        sub.add_option("--seed", o->seed, "Seed of the random weights")->capture_default_str();
        sub.add_option("-t,--threads", o->threads, "Threads (default: physical cores)");
        return [o] {
            std::fprintf(stderr,
                         "kinglet synth: writing %s (%s, %s) with RANDOM weights: it runs at real speed but its text is meaningless.\n",
                         o->output.c_str(), o->shape.c_str(), o->type.c_str());
            uint64_t bytes = write_synthetic_model(*o, [](size_t done, size_t total) {
                if (done == total || done % 16 == 0) std::fprintf(stderr, "\r  tensors %zu/%zu", done, total);
            });
            std::fprintf(stderr, "\n  wrote %s (%.1f MiB)\n", o->output.c_str(), double(bytes) / (1 << 20));
            return 0;
        };
    }}};

}  // namespace
}  // namespace kinglet::cli
