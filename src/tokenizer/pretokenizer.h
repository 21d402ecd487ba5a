// Byte-level BPE pre-tokenizers: the regexes that cut text into words before BPE, chosen by the
// `tokenizer.ggml.pre` name exactly as llama.cpp maps names to regexes. The regexes are the original
// Hugging Face ones (PCRE2 with UTF, Unicode properties and JIT), so `(?i:'s|...)` is matched with
// Unicode case folding as Hugging Face's Oniguruma does.
//
// Names (aliases as in llama.cpp):
//   llama-bpe | llama3 | llama-v3   Llama 3; words found whole in the vocabulary skip merging; adds BOS
//   dbrx | smaug-bpe                the Llama 3 regex
//   qwen2                           Qwen 2/2.5/3; NFC-normalizes the text first (every Qwen2-family
//                                   tokenizer.json has an NFC normalizer; llama.cpp skips this step)
//   deepseek-r1-qwen | stablelm2 | megrez   the Qwen 2 regex without normalization
//   smollm | starcoder | refact | command-r | codeshell | exaone | minerva-7b
//                                   each digit alone, then the GPT-2 regex
//   gpt-2 | gpt2 | phi-2 | mpt | olmo | jais   the GPT-2 regex
//   default, or no name             llama.cpp's fallback regexes, with a warning
// Any other name is an Error(unsupported): guessing a pre-tokenizer silently changes token ids.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace kinglet {

// The Hugging Face split regexes (as tokenizer.json files spell them) of the Llama 3, Qwen 2 and GPT-2
// pre-tokenizers.
inline constexpr std::string_view kLlama3Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|)"
    R"(\s*[\r\n]+|\s+(?!\S)|\s+)";
inline constexpr std::string_view kQwen2Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|)"
    R"(\s*[\r\n]+|\s+(?!\S)|\s+)";
inline constexpr std::string_view kGpt2Regex =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// Whether llama.cpp adds BOS by default for a byte-level vocabulary with this pre-tokenizer.
bool pre_tokenizer_adds_bos(std::string_view pre);
// The names PreTokenizer accepts.
std::vector<std::string> pre_tokenizer_names();

class PreTokenizer {
  public:
    explicit PreTokenizer(std::string_view pre);
    ~PreTokenizer();
    PreTokenizer(const PreTokenizer&) = delete;
    PreTokenizer& operator=(const PreTokenizer&) = delete;

    // Cuts valid UTF-8 into words: each regex in turn splits every piece into its matches and the
    // unmatched stretches between them (Hugging Face's "Isolated" split). Views point into `text`.
    std::vector<std::string_view> split(std::string_view text) const;

    const std::string& name() const { return name_; }
    bool ignore_merges() const { return ignore_merges_; }
    bool nfc() const { return nfc_; }

  private:
    struct Regex;
    std::string name_;
    bool ignore_merges_ = false;
    bool nfc_ = false;
    std::vector<std::unique_ptr<Regex>> regexes_;
};

}  // namespace kinglet
