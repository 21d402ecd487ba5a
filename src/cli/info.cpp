// kinglet info: what a GGUF file holds — architecture, shapes, tensor types, vocabulary, size.
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "core/cpu.h"
#include "core/error.h"
#include "gguf/reader.h"
#include "model/hparams.h"
#include "tensor/ops.h"
#include "tokenizer/vocab.h"

namespace kinglet::cli {
namespace {

struct InfoOptions {
    std::string path;
    bool metadata = false;
    bool tensors = false;
    bool json = false;
};

int info(const InfoOptions& o) {
    auto r = gguf::Reader::open(o.path);
    std::map<std::string, std::pair<int, uint64_t>> types;  // type -> (count, bytes)
    uint64_t params = 0, tensor_bytes = 0;
    for (const auto& t : r->tensors()) {
        auto& e = types[dtype_name(t.type)];
        e.first++;
        e.second += t.n_bytes;
        params += uint64_t(t.n_elements());
        tensor_bytes += t.n_bytes;
    }
    nlohmann::json j;
    j["file"] = o.path;
    j["gguf_version"] = r->version();
    j["file_bytes"] = r->file().size();
    j["tensors"] = r->tensors().size();
    j["parameters"] = params;
    for (const auto& [name, e] : types) j["types"][name] = {{"tensors", e.first}, {"bytes", e.second}};
    std::string arch = r->get_string("general.architecture", "");
    j["architecture"] = arch;
    j["name"] = r->get_string("general.name", "");
    if (!r->tensors().empty() && find_arch(arch)) {
        HParams hp = HParams::from_gguf(*r);
        j["hparams"] = {{"n_vocab", hp.n_vocab},     {"n_ctx_train", hp.n_ctx_train}, {"n_embd", hp.n_embd},
                        {"n_layer", hp.n_layer},     {"n_head", hp.n_head},           {"n_head_kv", hp.n_head_kv},
                        {"head_dim", hp.head_dim},   {"n_ff", hp.n_ff},               {"rope_base", hp.rope_base},
                        {"norm_eps", hp.norm_eps}};
        int n_local = 0;
        for (int l = 0; l < hp.n_layer; ++l) n_local += hp.is_local(l);
        if (n_local > 0) j["hparams"]["sliding_window"] = {{"tokens", hp.sliding_window}, {"local_layers", n_local}};
    }
    if (r->has("tokenizer.ggml.tokens")) {
        Vocab v = Vocab::from_gguf(*r);
        j["vocabulary"] = {{"model", v.model},  {"pre", v.pre},         {"tokens", v.n_tokens()},
                           {"bos", v.bos},      {"eos", v.eos},         {"add_bos", v.add_bos},
                           {"merges", v.merges.size()}, {"chat_template", !v.chat_template.empty()}};
    }
    if (o.json) {
        if (o.metadata)
            for (const auto& [k, v] : r->metadata()) j["metadata"][k] = v.to_string(16);
        std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
        return 0;
    }
    std::printf("file          %s (GGUF v%u, %.1f MiB)\n", o.path.c_str(), r->version(), double(r->file().size()) / (1 << 20));
    std::printf("architecture  %s%s\n", arch.c_str(), find_arch(arch) ? "" : "  (not supported by kinglet)");
    if (!j["name"].get<std::string>().empty()) std::printf("name          %s\n", j["name"].get<std::string>().c_str());
    if (j.contains("hparams")) {
        auto& h = j["hparams"];
        std::printf("shape         %d layers, %d-wide, %d heads (%d KV, head %d), FFN %d, context %d\n",
                    h["n_layer"].get<int>(), h["n_embd"].get<int>(), h["n_head"].get<int>(), h["n_head_kv"].get<int>(),
                    h["head_dim"].get<int>(), h["n_ff"].get<int>(), h["n_ctx_train"].get<int>());
        if (h.contains("sliding_window"))
            std::printf("attention     sliding window of %d tokens on %d of %d layers\n",
                        h["sliding_window"]["tokens"].get<int>(), h["sliding_window"]["local_layers"].get<int>(),
                        h["n_layer"].get<int>());
    }
    std::printf("parameters    %.2f M in %zu tensors\n", double(params) / 1e6, r->tensors().size());
    for (const auto& [name, e] : types)
        std::printf("  %-8s    %4d tensors, %.1f MiB\n", name.c_str(), e.first, double(e.second) / (1 << 20));
    if (j.contains("vocabulary")) {
        auto& v = j["vocabulary"];
        std::printf("vocabulary    %s (pre '%s'), %d tokens, BOS %d, EOS %d%s\n", v["model"].get<std::string>().c_str(),
                    v["pre"].get<std::string>().c_str(), v["tokens"].get<int>(), v["bos"].get<int>(), v["eos"].get<int>(),
                    v["chat_template"].get<bool>() ? ", has a chat template" : "");
    }
    std::printf("this CPU      %s; kernels %s\n", cpu_features().summary().c_str(), kernel_family());
    if (o.metadata)
        for (const auto& [k, v] : r->metadata()) std::printf("  %-44s %s\n", k.c_str(), v.to_string().c_str());
    if (o.tensors)
        for (const auto& t : r->tensors())
            std::printf("  %-36s %-6s %s\n", t.name.c_str(), dtype_name(t.type), t.shape_string().c_str());
    return 0;
}

const Registrar registrar{Command{
    "info",
    "Show a GGUF file's architecture, shapes, tensor types, vocabulary and size",
    [](CLI::App& sub) {
        auto o = std::make_shared<InfoOptions>();
        sub.add_option("-m,--model,model", o->path, "GGUF file")->required();
        sub.add_flag("--metadata", o->metadata, "Also list every metadata key");
        sub.add_flag("--tensors", o->tensors, "Also list every tensor");
        sub.add_flag("--json", o->json, "Print JSON");
        return [o] { return info(*o); };
    }}};

}  // namespace
}  // namespace kinglet::cli
