// kinglet tokenize: the token ids of a text under a model's vocabulary (a vocabulary-only GGUF is enough).
#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "core/error.h"
#include "gguf/reader.h"
#include "tokenizer/tokenizer.h"

namespace kinglet::cli {
namespace {

struct Options {
    std::string model;
    std::string text;
    std::string file;
    bool no_bos = false;
    bool special = false;
    bool json = false;
};

std::string read_input(const std::string& file) {
    if (file == "-")
        return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    std::ifstream in(file, std::ios::binary);
    if (!in) fail(Errc::not_found, "{}: cannot open", file);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

int run(const Options& o) {
    if (!o.text.empty() && !o.file.empty())
        fail(Errc::invalid_argument, "give the text either as an argument or with --file, not both");
    const std::string text = o.file.empty() ? o.text : read_input(o.file);
    auto reader = gguf::Reader::open(o.model);
    const Tokenizer tok(Vocab::from_gguf(*reader));
    const std::vector<int32_t> ids = tok.encode(text, !o.no_bos, o.special);
    nlohmann::json out;
    if (o.json) {
        nlohmann::json pieces = nlohmann::json::array();
        for (int32_t id : ids) pieces.push_back(tok.token_to_piece(id));
        out = {{"ids", ids}, {"pieces", pieces}, {"n_tokens", ids.size()}};
    } else {
        out = ids;
    }
    // A piece can be part of a UTF-8 character (byte tokens); JSON shows such bytes as U+FFFD.
    std::string s = out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    std::fwrite(s.data(), 1, s.size(), stdout);
    std::fputc('\n', stdout);
    return 0;
}

const Registrar registrar{Command{
    "tokenize",
    "Print the token ids of a text (a JSON array; with --json, ids and pieces)",
    [](CLI::App& sub) {
        auto o = std::make_shared<Options>();
        sub.add_option("-m,--model", o->model, "GGUF model or vocabulary file")->required();
        sub.add_option("text", o->text, "the text to tokenize");
        sub.add_option("-f,--file", o->file, "read the text from a file ('-' for standard input)");
        sub.add_flag("--no-bos", o->no_bos, "do not add BOS (and EOS) even if the vocabulary asks for it");
        sub.add_flag("--special", o->special,
                     "match special-token text (<|im_start|>, <s>, ...) as those tokens");
        sub.add_flag("--json", o->json, "print {\"ids\": [...], \"pieces\": [...], \"n_tokens\": N}");
        sub.footer(
            "Without --special, control-token text such as \"<s>\" is tokenized as plain text; user-defined "
            "added tokens are always matched.\n");
        return [o] { return run(*o); };
    },
}};

}  // namespace
}  // namespace kinglet::cli
