#include "tokenizer/tokenizer.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <set>

#include "core/error.h"
#include "tokenizer/bpe.h"
#include "tokenizer/special_matcher.h"
#include "tokenizer/spm.h"
#include "tokenizer/token_index.h"
#include "tokenizer/unicode.h"

namespace kinglet {

namespace {

// Token texts llama.cpp treats as end of turn / end of generation when the file does not say
// (llama-vocab.cpp, "auto-detect special tokens by text"). llama.cpp's "</s>" entry (for one OCR model) is
// left out: Qwen and Gemma have "</s>" as an ordinary piece, which must not stop generation.
// clang-format off
constexpr std::string_view kEotTexts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>", "<EOT>",
    "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>"};
constexpr std::string_view kEogTexts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
    "<end_of_turn>", "<|endoftext|>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>",
    "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>", "<｜end▁of▁sentence｜>", "[e~["};
// clang-format on
constexpr std::string_view kFimPadTexts[] = {"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"};
constexpr std::string_view kFimRepTexts[] = {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>",
                                             "<reponame>"};
constexpr std::string_view kFimSepTexts[] = {"<|file_sep|>"};
// gpt-oss: llama.cpp always renders these and matches them as plain added tokens.
constexpr std::string_view kAlwaysUserDefined[] = {"<|channel|>", "<|message|>", "<|start|>",
                                                   "<|constrain|>"};

template <size_t N>
bool one_of(std::string_view s, const std::string_view (&list)[N]) {
    return std::find(std::begin(list), std::end(list), s) != std::end(list);
}

int parse_byte_piece(std::string_view t) {  // "<0xNN>" -> NN, else -1
    if (t.size() != 6 || t.substr(0, 3) != "<0x" || t[5] != '>') return -1;
    auto hex = [](char c) {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;
    };
    int hi = hex(t[3]), lo = hex(t[4]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

}  // namespace

struct Tokenizer::Impl {
    Vocab vocab;
    bool spm = false;
    detail::TokenIndex index;
    std::vector<TokenType> types;  // effective types
    std::vector<int32_t> eog;
    std::vector<bool> eog_flag;
    detail::SpecialMatcher matcher;
    std::unique_ptr<detail::SpmEncoder> spm_enc;
    std::unique_ptr<detail::BpeEncoder> bpe_enc;

    // The index refers to vocab's strings: an Impl never moves (it lives behind a shared_ptr).
    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;

    explicit Impl(Vocab v) : vocab(std::move(v)), index(vocab.tokens) {
        vocab.validate("vocabulary");
        spm = vocab.model == "llama";
        const int32_t n = vocab.n_tokens();
        for (int32_t i = 0; i < n; ++i) {
            if (!index.add(i))
                fail(Errc::invalid_file, "vocabulary: token '{}' appears twice (ids {} and {})",
                     vocab.tokens[i], index.find(vocab.tokens[i]), i);
        }
        types = vocab.types;
        find_end_of_generation();
        for (int32_t i = 0; i < n; ++i) {
            const TokenType t = types[i];
            if (t == TokenType::control || t == TokenType::unknown || t == TokenType::user_defined)
                matcher.add(vocab.tokens[i], i, t == TokenType::user_defined);
        }
        if (spm) {
            std::array<int32_t, 256> bytes;
            for (int b = 0; b < 256; ++b) {
                int32_t id = index.find(fmt::format("<0x{:02X}>", b));
                if (id < 0) id = index.find(std::string(1, static_cast<char>(b)));
                if (id < 0) id = vocab.unk;
                bytes[b] = id;
            }
            spm_enc = std::make_unique<detail::SpmEncoder>(index, vocab.scores, bytes);
        } else {
            bpe_enc = std::make_unique<detail::BpeEncoder>(vocab, index);
        }
        // The encoder keeps the merges in its own table; their text (several MB for a 150k-token
        // vocabulary) is not needed again.
        std::vector<std::string>().swap(vocab.merges);
    }

    // llama.cpp's end-of-generation set: the file's EOS/EOT/EOM plus tokens recognised by their text.
    // Recognised tokens that are not control tokens become control tokens, as llama.cpp forces them.
    void find_end_of_generation() {
        const int32_t n = vocab.n_tokens();
        std::set<int32_t> set;
        int32_t eot = vocab.eot, eom = vocab.eom;
        auto force_control = [&](int32_t id) {
            if (types[id] != TokenType::control) types[id] = TokenType::control;
        };
        for (int32_t i = 0; i < n; ++i) {
            const std::string_view t = vocab.tokens[i];
            if (one_of(t, kAlwaysUserDefined)) types[i] = TokenType::user_defined;
            if (eot < 0 && one_of(t, kEotTexts)) eot = i, force_control(i);
            if (eom < 0 && t == "<|eom_id|>") eom = i, force_control(i);
            if (one_of(t, kFimPadTexts) || one_of(t, kFimRepTexts) || one_of(t, kFimSepTexts))
                set.insert(i), force_control(i);
            if (one_of(t, kEogTexts)) set.insert(i), force_control(i);
        }
        for (int32_t id : {vocab.eos, eot, eom})
            if (id >= 0) set.insert(id);
        // gpt-oss ends a message with <|end|> but generation with <|return|> or <|call|>.
        auto with_text = [&](std::string_view s) {
            for (int32_t id : set)
                if (vocab.tokens[id] == s) return id;
            return -1;
        };
        const int32_t end = with_text("<|end|>");
        if (end >= 0 && ((with_text("<|return|>") >= 0 && with_text("<|call|>") >= 0) ||
                         (with_text("<|calls|>") >= 0 && with_text("<|flush|>") >= 0))) {
            set.erase(end);
            types[end] = TokenType::user_defined;
        }
        const int32_t s_end = with_text("</s>");
        if (s_end >= 0 && with_text("<|tool_response>") >= 0) {
            set.erase(s_end);
            types[s_end] = TokenType::normal;
        }
        eog.assign(set.begin(), set.end());
        eog_flag.assign(static_cast<size_t>(n), false);
        for (int32_t id : eog) eog_flag[id] = true;
    }

    void encode_text(std::string_view text, bool after_special, std::vector<int32_t>& out) const {
        if (!spm) {
            bpe_enc->encode(text, out);
            return;
        }
        std::string escaped;
        escaped.reserve(text.size() + 8);
        if (vocab.add_space_prefix && after_special) escaped += unicode::kSpaceMarker;
        for (char c : text) {
            if (c == ' ')
                escaped += unicode::kSpaceMarker;
            else
                escaped += c;
        }
        spm_enc->encode(escaped, out);
    }

    std::string piece(int32_t id, bool render_special) const {
        const std::string_view text = vocab.tokens[id];
        switch (types[id]) {
            case TokenType::control:
            case TokenType::unknown:
                return render_special ? std::string(text) : std::string();
            // llama.cpp's converter writes spaces into user-defined SentencePiece pieces; kinglet's keeps
            // U+2581 (so that they match text exactly as Hugging Face matches them), hence the unescape.
            case TokenType::user_defined:
                return spm ? unescape_spaces(text) : std::string(text);
            case TokenType::normal:
                return spm ? unescape_spaces(text) : byte_level_decode(text);
            case TokenType::byte: {
                const int b = parse_byte_piece(text);
                return b < 0 ? std::string(text) : std::string(1, static_cast<char>(b));
            }
            case TokenType::unused:
            case TokenType::undefined:
                return {};
        }
        return {};
    }

    static std::string unescape_spaces(std::string_view text) {
        std::string out;
        out.reserve(text.size());
        for (size_t i = 0; i < text.size();) {
            if (text.compare(i, unicode::kSpaceMarker.size(), unicode::kSpaceMarker) == 0) {
                out += ' ';
                i += unicode::kSpaceMarker.size();
            } else {
                out += text[i++];
            }
        }
        return out;
    }

    // Byte-level symbols back to bytes; a character outside GPT-2's alphabet is kept as it is.
    static std::string byte_level_decode(std::string_view text) {
        std::string out;
        out.reserve(text.size());
        for (size_t i = 0; i < text.size();) {
            const unicode::Utf8Char ch = unicode::decode_utf8(text, i);
            const int b = ch.status == unicode::Utf8Status::ok ? unicode::symbol_to_byte(ch.cp) : -1;
            if (b >= 0)
                out += static_cast<char>(b);
            else
                out.append(text, i, ch.len);
            i += ch.len;
        }
        return out;
    }
};

Tokenizer::Tokenizer(Vocab v) : impl_(std::make_shared<const Impl>(std::move(v))) {}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_bos, bool parse_special) const {
    const Impl& m = *impl_;
    std::vector<int32_t> out;
    out.reserve(text.size() / 3 + 4);
    if (add_bos && m.vocab.add_bos) out.push_back(m.vocab.bos);
    bool after_special = true;  // the text start counts as "after a special token" (dummy prefix)
    for (size_t pos = 0; pos < text.size();) {
        const auto match =
            m.matcher.empty() ? detail::SpecialMatcher::Match{} : m.matcher.find(text, pos, parse_special);
        const size_t end = match.id < 0 ? text.size() : match.start;
        if (end > pos) {
            m.encode_text(text.substr(pos, end - pos), after_special, out);
            after_special = false;
        }
        if (match.id < 0) break;
        out.push_back(match.id);
        after_special = true;
        pos = match.start + match.len;
    }
    if (add_bos && m.vocab.add_eos) out.push_back(m.vocab.eos);
    return out;
}

std::string Tokenizer::token_to_piece(int32_t id, bool render_special) const {
    if (id < 0 || id >= n_vocab())
        fail(Errc::invalid_argument, "token id {} is outside the vocabulary of {} tokens", id, n_vocab());
    return impl_->piece(id, render_special);
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids, const DecodeOptions& opt) const {
    const Vocab& v = impl_->vocab;
    size_t b = 0, e = ids.size();
    if (opt.remove_bos_eos && v.add_bos && e > 0 && ids[0] == v.bos) ++b;
    if (opt.remove_bos_eos && v.add_eos && e > b && ids[e - 1] == v.eos) --e;
    bool strip = v.add_space_prefix && opt.strip_space_prefix;
    std::string out;
    for (size_t i = b; i < e; ++i) {
        std::string p = token_to_piece(ids[i], opt.render_special);
        if (strip && !p.empty() && p[0] == ' ') p.erase(0, 1);
        strip = false;
        out += p;
    }
    return out;
}

bool Tokenizer::is_eog(int32_t id) const {
    return id >= 0 && id < n_vocab() && impl_->eog_flag[id];
}
const std::vector<int32_t>& Tokenizer::eog_ids() const {
    return impl_->eog;
}
int32_t Tokenizer::find_token(std::string_view text) const {
    return impl_->index.find(text);
}
TokenType Tokenizer::token_type(int32_t id) const {
    if (id < 0 || id >= n_vocab())
        fail(Errc::invalid_argument, "token id {} is outside the vocabulary of {} tokens", id, n_vocab());
    return impl_->types[id];
}
const Vocab& Tokenizer::vocab() const {
    return impl_->vocab;
}
int32_t Tokenizer::n_vocab() const {
    return impl_->vocab.n_tokens();
}

}  // namespace kinglet
