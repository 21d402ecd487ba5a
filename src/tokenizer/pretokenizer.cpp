#include "tokenizer/pretokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>

#include "core/error.h"
#include "core/log.h"
#include "tokenizer/unicode.h"

namespace kinglet {

namespace {

constexpr std::string_view kDigit = R"(\p{N})";

struct Spec {
    std::vector<std::string_view> names;
    std::vector<std::string_view> regexes;
    bool ignore_merges = false;
    bool add_bos = false;
    bool nfc = false;
};

const std::vector<Spec>& specs() {
    static const std::vector<Spec> s = {
        {{"llama-bpe", "llama3", "llama-v3"}, {kLlama3Regex}, true, true, false},
        {{"dbrx", "smaug-bpe"}, {kLlama3Regex}, false, false, false},
        {{"qwen2"}, {kQwen2Regex}, false, false, true},
        {{"deepseek-r1-qwen", "stablelm2", "megrez"}, {kQwen2Regex}, false, false, false},
        {{"smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b"},
         {kDigit, kGpt2Regex},
         false,
         false,
         false},
        {{"gpt-2", "gpt2", "phi-2", "mpt", "olmo", "jais"}, {kGpt2Regex}, false, false, false},
        // llama.cpp's fallback when a file names no pre-tokenizer.
        {{"default", ""},
         {R"([\p{P}\$\+<=>\^~\|]+)", kGpt2Regex, R"(\p{N}+)", "[0-9][0-9][0-9]"},
         false,
         false,
         false},
    };
    return s;
}

const Spec* find_spec(std::string_view pre) {
    for (const Spec& s : specs())
        if (std::find(s.names.begin(), s.names.end(), pre) != s.names.end()) return &s;
    return nullptr;
}

}  // namespace

struct PreTokenizer::Regex {
    pcre2_code* code = nullptr;
    explicit Regex(std::string_view pattern) {
        int err = 0;
        PCRE2_SIZE off = 0;
        code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                             PCRE2_UTF | PCRE2_UCP, &err, &off, nullptr);
        if (!code) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(err, msg, sizeof msg);
            fail(Errc::internal, "pre-tokenizer regex does not compile at {}: {}", off,
                 reinterpret_cast<char*>(msg));
        }
        // Without JIT PCRE2 still matches, only slower; no need to fail.
        pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
    }
    ~Regex() { pcre2_code_free(code); }
};

bool pre_tokenizer_adds_bos(std::string_view pre) {
    const Spec* s = find_spec(pre);
    return s && s->add_bos;
}

std::vector<std::string> pre_tokenizer_names() {
    std::vector<std::string> out;
    for (const Spec& s : specs())
        for (auto n : s.names)
            if (!n.empty()) out.emplace_back(n);
    return out;
}

PreTokenizer::PreTokenizer(std::string_view pre) : name_(pre) {
    const Spec* s = find_spec(pre);
    if (!s) {
        std::string known;
        for (const auto& n : pre_tokenizer_names()) known += (known.empty() ? "" : ", ") + n;
        fail(Errc::unsupported, "pre-tokenizer '{}' is not supported (known: {})", pre, known);
    }
    if (pre.empty() || pre == "default")
        log::warn(
            "the vocabulary names no pre-tokenizer; using llama.cpp's default regexes, which may not "
            "match how the model was trained");
    ignore_merges_ = s->ignore_merges;
    nfc_ = s->nfc;
    for (std::string_view r : s->regexes) regexes_.push_back(std::make_unique<Regex>(r));
}

PreTokenizer::~PreTokenizer() = default;

std::vector<std::string_view> PreTokenizer::split(std::string_view text) const {
    std::vector<std::string_view> pieces;
    if (text.empty()) return pieces;
    pieces.push_back(text);

    // A JIT stack larger than the 32 KiB default, so that long runs of one character class never
    // overflow it; it is reserved lazily by PCRE2.
    pcre2_match_context* mctx = pcre2_match_context_create(nullptr);
    pcre2_jit_stack* jstack = pcre2_jit_stack_create(32 * 1024, 64 * 1024 * 1024, nullptr);
    if (jstack) pcre2_jit_stack_assign(mctx, nullptr, jstack);
    struct Cleanup {
        pcre2_match_context* m;
        pcre2_jit_stack* j;
        ~Cleanup() {
            pcre2_match_context_free(m);
            if (j) pcre2_jit_stack_free(j);
        }
    } cleanup{mctx, jstack};

    for (const auto& re : regexes_) {
        pcre2_match_data* md = pcre2_match_data_create_from_pattern(re->code, nullptr);
        std::vector<std::string_view> next;
        next.reserve(pieces.size() * 2);
        for (std::string_view piece : pieces) {
            // These regexes need work linear in a piece's length (a 20 MB run of spaces backtracks
            // through `\s*[\r\n]+` once), so the limit grows with the piece: past PCRE2's default.
            pcre2_set_match_limit(mctx, static_cast<uint32_t>(std::min<size_t>(
                                            size_t{10'000'000} + 64 * piece.size(), size_t{4'000'000'000})));
            const auto* subject = reinterpret_cast<PCRE2_SPTR>(piece.data());
            size_t last = 0, pos = 0;
            while (pos < piece.size()) {
                int rc = pcre2_match(re->code, subject, piece.size(), pos, PCRE2_NO_UTF_CHECK, md, mctx);
                if (rc == PCRE2_ERROR_NOMATCH) break;
                if (rc < 0) {
                    pcre2_match_data_free(md);
                    PCRE2_UCHAR msg[256];
                    pcre2_get_error_message(rc, msg, sizeof msg);
                    fail(Errc::internal, "pre-tokenizer '{}': regex match failed: {}", name_,
                         reinterpret_cast<char*>(msg));
                }
                const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
                const size_t s = ov[0], e = ov[1];
                if (e == s) {  // an empty match cuts nothing; step over one character
                    if (s >= piece.size()) break;
                    pos = s + std::min(unicode::utf8_len_from_lead(static_cast<uint8_t>(piece[s])),
                                       piece.size() - s);
                    continue;
                }
                if (s > last) next.push_back(piece.substr(last, s - last));
                next.push_back(piece.substr(s, e - s));
                last = pos = e;
            }
            if (last < piece.size()) next.push_back(piece.substr(last));
        }
        pcre2_match_data_free(md);
        pieces = std::move(next);
    }
    return pieces;
}

}  // namespace kinglet
