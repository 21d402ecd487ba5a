// kinglet quantize: convert a GGUF model to another file type with llama.cpp's recipes.
#include <cstdio>

#include "cli/command.h"
#include "model/quant_recipe.h"
#include "model/requantize.h"

namespace kinglet::cli {
namespace {

const Registrar registrar{Command{
    "quantize",
    "Convert a GGUF model to another type (q8_0, q4_k_m, q5_k_m, q6_k, q4_0, f16, ...) as llama.cpp would",
    [](CLI::App& sub) {
        struct O {
            std::string in, out, type;
            int threads = 0;
        };
        auto o = std::make_shared<O>();
        std::string types;
        for (auto& s : file_type_names()) types += (types.empty() ? "" : ", ") + s;
        sub.add_option("input", o->in, "Input GGUF (best: F32 or F16)")->required()->check(CLI::ExistingFile);
        sub.add_option("output", o->out, "Output GGUF")->required();
        sub.add_option("type", o->type, "File type: " + types)->required();
        sub.add_option("-t,--threads", o->threads, "Threads (default: physical cores)");
        return [o] {
            uint64_t bytes = requantize_model(o->in, o->out, o->type, o->threads, [](size_t d, size_t t) {
                if (d == t || d % 16 == 0) std::fprintf(stderr, "\r  tensors %zu/%zu", d, t);
            });
            std::fprintf(stderr, "\n  wrote %s (%.1f MiB)\n", o->out.c_str(), double(bytes) / (1 << 20));
            return 0;
        };
    }}};

}  // namespace
}  // namespace kinglet::cli
