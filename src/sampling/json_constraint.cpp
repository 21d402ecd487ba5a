#include "sampling/json_constraint.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"

namespace kinglet {

namespace {

// Number states: which bytes may come next.
enum Num : uint8_t { kMinus, kZero, kInt, kDot, kFrac, kExpMark, kExpSign, kExp };
bool num_terminal(uint8_t s) { return s == kZero || s == kInt || s == kFrac || s == kExp; }
bool is_digit(uint8_t c) { return c >= '0' && c <= '9'; }
bool is_ws(uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
int hex_value(uint8_t c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}
constexpr std::string_view kLiterals[3] = {"true", "false", "null"};
// A mask of the first n bits (n <= 64): every key or enum value still possible.
uint64_t low_bits(size_t n) { return n >= 64 ? ~uint64_t(0) : (uint64_t(1) << n) - 1; }

}  // namespace

JsonRecognizer::JsonRecognizer(JsonOptions opt)
    : object_only_(opt.object_only), leading_ws_(opt.leading_ws), trailing_ws_(opt.trailing_ws) {
    if (opt.max_depth < 1 || opt.max_depth > 64)
        fail(Errc::invalid_argument, "JSON nesting limit {} is out of range (1..64)", opt.max_depth);
    if (opt.max_ws < 0 || opt.max_ws > 255)
        fail(Errc::invalid_argument, "JSON whitespace limit {} is out of range (0..255)", opt.max_ws);
    if (opt.max_newlines < -1 || opt.max_newlines > 127)
        fail(Errc::invalid_argument, "JSON line feed limit {} is out of range (-1..127)", opt.max_newlines);
    max_depth_ = uint8_t(opt.max_depth);
    max_ws_ = uint8_t(opt.max_ws);
    max_nl_ = int8_t(opt.max_newlines);
    schema_ = opt.schema;
    if (schema_) {
        object_only_ = false;
        value_node_ = int16_t(schema_->root);
    }
}

bool JsonRecognizer::complete() const {
    return mode_ == kDone || (mode_ == kNumber && depth_ == 0 && num_terminal(sub_));
}

bool JsonRecognizer::in_plain_string() const {
    return mode_ == kString && utf8_need_ == 0 && surrogate_ == 0 && smode_ == 0;
}

bool JsonRecognizer::whitespace(uint8_t c) {
    if (max_ws_ != 0 && ws_ >= max_ws_) return refuse();
    if (max_nl_ >= 0) {
        if (c == '\r' || (c == '\n' && nl_ >= max_nl_)) return refuse();
        nl_ += c == '\n';
    }
    ++ws_;
    return true;
}

void JsonRecognizer::value_done() {
    if (depth_ == 0) mode_ = kDone;
    else mode_ = top_is_object() ? kObjNext : kArrNext;
}

bool JsonRecognizer::begin_value(uint8_t c) {
    if (depth_ == 0 && object_only_ && c != '{') return refuse();
    const CompiledSchema::Node* v = value_node_ >= 0 ? &schema_->nodes[size_t(value_node_)] : nullptr;
    if (v) {
        using S = CompiledSchema;
        const uint8_t need = c == '{' ? S::kObject : c == '[' ? S::kArray : c == '"' ? S::kString
                           : c == 't' || c == 'f' ? S::kBoolean : c == 'n' ? S::kNull : S::kInteger | S::kNumber;
        if (!v->branches.empty()) {  // anyOf: the first byte picks the branch
            int pick = -1;
            for (int b : v->branches)
                if (schema_->nodes[size_t(b)].types & need) pick = b;
            if (pick < 0) return refuse();
            value_node_ = int16_t(pick);
            v = &schema_->nodes[size_t(pick)];
        }
        if (!(v->types & need)) return refuse();
        int_only_ = !(v->types & S::kNumber);
    } else {
        int_only_ = false;
    }
    switch (c) {
        case '{':
        case '[':
            if (depth_ >= max_depth_) return refuse();
            if (c == '{') stack_ |= uint64_t(1) << depth_;
            else stack_ &= ~(uint64_t(1) << depth_);
            if (depth_ < kFrames) {
                node_[depth_] = value_node_;
                seen_[depth_] = 0;
            }
            ++depth_;
            mode_ = c == '{' ? kObjFirst : kArrFirst;
            if (c == '[') enter_array_value();
            return true;
        case '"':
            mode_ = kString;
            key_ = false;
            smode_ = 0;
            if (v && !v->enums.empty()) {
                smode_ = 2;
                spos_ = 0;
                cand_ = low_bits(v->enums.size());
            }
            return true;
        case '-':
            mode_ = kNumber;
            sub_ = kMinus;
            return true;
        case 't':
        case 'f':
        case 'n':
            mode_ = kLiteral;
            sub_ = c == 't' ? 0 : c == 'f' ? 1 : 2;
            pos_ = 1;
            return true;
        default:
            if (!is_digit(c)) return refuse();
            mode_ = kNumber;
            sub_ = c == '0' ? kZero : kInt;
            return true;
    }
}

// A byte inside a string (mode kString), UTF-8 checked as RFC 3629 defines it.
// A byte of a key or enum string: it must continue one of the candidates still matching (whose bytes are
// valid UTF-8 needing no escapes), and the closing quote must end one.
bool JsonRecognizer::schema_string_byte(uint8_t c) {
    const CompiledSchema::Node& n =
        schema_->nodes[size_t(smode_ == 1 ? frame_node() : value_node_)];
    const std::vector<std::string>& names = smode_ == 1 ? n.keys : n.enums;
    uint64_t keep = 0;
    for (uint64_t m = cand_; m; m &= m - 1) {
        const int i = __builtin_ctzll(m);
        const std::string& s = names[size_t(i)];
        if (c == '"' ? s.size() == spos_ : spos_ < s.size() && uint8_t(s[spos_]) == c) keep |= uint64_t(1) << i;
    }
    if (!keep) return refuse();
    if (c != '"') {
        cand_ = keep;
        ++spos_;
        return true;
    }
    const int i = __builtin_ctzll(keep);  // names are distinct: one ends here
    smode_ = 0;
    if (key_) {
        seen_[depth_ - 1] |= uint64_t(1) << i;
        key_node_ = int16_t(n.key_nodes[size_t(i)]);
        mode_ = kColon;
    } else {
        value_done();
    }
    return true;
}

bool JsonRecognizer::string_byte(uint8_t c) {
    if (smode_ != 0) return schema_string_byte(c);
    if (utf8_need_ > 0) {
        if (c < utf8_lo_ || c > utf8_hi_) return refuse();
        --utf8_need_;
        utf8_lo_ = 0x80;
        utf8_hi_ = 0xBF;
        return true;
    }
    if (surrogate_ == 1) {  // a high surrogate escape must be followed by "\u" and a low one
        if (c != '\\') return refuse();
        mode_ = kEscape;
        return true;
    }
    if (c == '"') {
        if (key_) {
            mode_ = kColon;
            key_node_ = -1;
        } else {
            value_done();
        }
        return true;
    }
    if (c == '\\') {
        mode_ = kEscape;
        return true;
    }
    if (c < 0x20) return refuse();
    if (c < 0x80) return true;
    if (c >= 0xC2 && c <= 0xDF) {
        utf8_need_ = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
        utf8_need_ = 2;
        if (c == 0xE0) utf8_lo_ = 0xA0;  // no overlong forms
        if (c == 0xED) utf8_hi_ = 0x9F;  // no surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
        utf8_need_ = 3;
        if (c == 0xF0) utf8_lo_ = 0x90;
        if (c == 0xF4) utf8_hi_ = 0x8F;  // nothing above U+10FFFF
    } else {
        return refuse();
    }
    return true;
}

bool JsonRecognizer::step(uint8_t c) {
    switch (mode_) {
        case kString:
            return string_byte(c);
        case kEscape:
            if (surrogate_ == 1) {
                if (c != 'u') return refuse();
                surrogate_ = 2;
            } else if (c == 'u') {
            } else if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' || c == 'r' || c == 't') {
                mode_ = kString;
                return true;
            } else {
                return refuse();
            }
            mode_ = kHex;
            sub_ = 4;
            hex_ = 0;
            return true;
        case kHex: {
            const int v = hex_value(c);
            if (v < 0) return refuse();
            hex_ = uint16_t(hex_ * 16 + v);
            --sub_;
            if (sub_ == 2) {  // the high byte of the code unit is known
                const bool low = hex_ >= 0xDC && hex_ <= 0xDF;
                if (surrogate_ == 2 ? !low : low) return refuse();
            }
            if (sub_ == 0) {
                if (surrogate_ == 2) surrogate_ = 0;
                else if (hex_ >= 0xD800 && hex_ <= 0xDBFF) surrogate_ = 1;
                mode_ = kString;
            }
            return true;
        }
        case kNumber:
            switch (sub_) {
                case kMinus:
                    if (!is_digit(c)) return refuse();
                    sub_ = c == '0' ? kZero : kInt;
                    return true;
                case kDot:
                    if (!is_digit(c)) return refuse();
                    sub_ = kFrac;
                    return true;
                case kExpMark:
                    if (c == '+' || c == '-') sub_ = kExpSign;
                    else if (is_digit(c)) sub_ = kExp;
                    else return refuse();
                    return true;
                case kExpSign:
                    if (!is_digit(c)) return refuse();
                    sub_ = kExp;
                    return true;
                default:
                    break;
            }
            if (is_digit(c) && sub_ != kZero) return true;
            if (int_only_ && (c == '.' || c == 'e' || c == 'E')) return refuse();
            if (c == '.' && (sub_ == kZero || sub_ == kInt)) {
                sub_ = kDot;
                return true;
            }
            if ((c == 'e' || c == 'E') && sub_ != kExp) {
                sub_ = kExpMark;
                return true;
            }
            // Any other byte ends the number and is read by what follows it.
            ws_ = nl_ = 0;
            value_done();
            return step(c);
        case kLiteral: {
            const std::string_view lit = kLiterals[sub_];
            if (c != uint8_t(lit[pos_])) return refuse();
            if (++pos_ == lit.size()) value_done();
            return true;
        }
        case kDead:
            return false;
        default:
            break;
    }
    // Structural states: whitespace, then the byte that state expects.
    if (is_ws(c)) {
        if (mode_ == kDone && !trailing_ws_) return refuse();
        if (mode_ == kValue && depth_ == 0 && !leading_ws_) return refuse();
        return whitespace(c);
    }
    ws_ = nl_ = 0;
    const CompiledSchema::Node* f = schema_ ? frame() : nullptr;
    const bool listed = f && f->has_properties;
    const uint64_t all = listed ? low_bits(f->keys.size()) : 0;
    switch (mode_) {
        case kValue:
            return begin_value(c);
        case kArrFirst:
            if (c == ']') {
                --depth_;
                value_done();
                return true;
            }
            return begin_value(c);
        case kObjFirst:
        case kObjKey:
            if (c == '"') {
                mode_ = kString;
                key_ = true;
                smode_ = 0;
                if (listed) {  // one of the properties not written yet
                    cand_ = all & ~seen_[depth_ - 1];
                    if (!cand_) return refuse();
                    smode_ = 1;
                    spos_ = 0;
                }
                return true;
            }
            if (c == '}' && mode_ == kObjFirst) {
                if (listed && (f->required & ~seen_[depth_ - 1])) return refuse();
                --depth_;
                value_done();
                return true;
            }
            return refuse();
        case kColon:
            if (c != ':') return refuse();
            mode_ = kValue;
            value_node_ = key_node_;
            return true;
        case kObjNext:
        case kArrNext: {
            const bool obj = mode_ == kObjNext;
            if (c == ',') {
                if (listed && !(all & ~seen_[depth_ - 1])) return refuse();  // no property left to write
                mode_ = obj ? kObjKey : kValue;
                if (!obj) enter_array_value();
                return true;
            }
            if (c == (obj ? '}' : ']')) {
                if (obj && listed && (f->required & ~seen_[depth_ - 1])) return refuse();
                --depth_;
                value_done();
                return true;
            }
            return refuse();
        }
        default:  // kDone
            return refuse();
    }
}

bool JsonRecognizer::feed(std::string_view bytes) {
    for (char c : bytes)
        if (!step(uint8_t(c))) return false;
    return true;
}

// --- the vocabulary trie ---

JsonVocab::JsonVocab(const std::vector<std::string>& pieces, const std::vector<bool>& usable, std::vector<int32_t> eog)
    : eog_(std::move(eog)) {
    if (usable.size() != pieces.size())
        fail(Errc::invalid_argument, "JSON vocabulary: {} pieces but {} usable flags", pieces.size(), usable.size());
    offsets_.reserve(pieces.size() + 1);
    offsets_.push_back(0);
    for (const auto& p : pieces) {
        bytes_ += p;
        offsets_.push_back(uint32_t(bytes_.size()));
    }
    std::sort(eog_.begin(), eog_.end());
    // A token is plain when, from inside a string, its bytes keep the string open and leave no escape
    // or UTF-8 character unfinished: then it may follow any plain-string state.
    plain_.assign(pieces.size(), 0);
    std::vector<int32_t> all, not_plain;
    JsonRecognizer in_string;
    in_string.feed("{\"");
    for (int32_t id = 0; id < int32_t(pieces.size()); ++id) {
        if (!usable[size_t(id)] || pieces[size_t(id)].empty() || is_eog(id)) continue;
        all.push_back(id);
        JsonRecognizer s = in_string;
        bool plain = true;
        for (char c : pieces[size_t(id)]) {
            if (!s.step(uint8_t(c)) || !s.in_string()) {
                plain = false;
                break;
            }
        }
        plain = plain && s.in_plain_string();
        plain_[size_t(id)] = plain;
        if (!plain) not_plain.push_back(id);
    }
    all_ = build(*this, std::move(all));
    not_plain_ = build(*this, std::move(not_plain));
}

bool JsonVocab::is_eog(int32_t id) const { return std::binary_search(eog_.begin(), eog_.end(), id); }

JsonVocab::Trie JsonVocab::build(const JsonVocab& v, std::vector<int32_t> ids) {
    // Sorted pieces share their prefixes with their neighbours: the trie is built in preorder by
    // keeping the path to the last piece and closing the nodes below the common prefix.
    std::stable_sort(ids.begin(), ids.end(), [&](int32_t a, int32_t b) { return v.piece(a) < v.piece(b); });
    Trie t;
    std::vector<uint32_t> path;  // node index at each depth - 1
    std::string_view prev;
    for (int32_t id : ids) {
        const std::string_view p = v.piece(id);
        size_t common = 0;
        while (common < p.size() && common < prev.size() && p[common] == prev[common]) ++common;
        while (path.size() > common) {
            t.nodes[path.back()].end = uint32_t(t.nodes.size());
            path.pop_back();
        }
        for (size_t d = common; d < p.size(); ++d) {
            path.push_back(uint32_t(t.nodes.size()));
            const uint32_t at = uint32_t(t.tokens.size());
            t.nodes.push_back({0, at, at, uint32_t(d + 1), uint8_t(p[d])});
        }
        // Equal pieces are adjacent; their node's tokens stay contiguous.
        t.tokens.push_back(id);
        t.nodes[path.back()].tok_end = uint32_t(t.tokens.size());
        t.max_depth = std::max(t.max_depth, uint32_t(p.size()));
        prev = p;
    }
    while (!path.empty()) {
        t.nodes[path.back()].end = uint32_t(t.nodes.size());
        path.pop_back();
    }
    return t;
}

void JsonVocab::walk(const Trie& t, const JsonRecognizer& s, uint8_t* allowed) {
    thread_local std::vector<JsonRecognizer> states;
    states.resize(t.max_depth + 1);
    states[0] = s;
    for (size_t i = 0; i < t.nodes.size();) {
        const Node& n = t.nodes[i];
        JsonRecognizer next = states[n.depth - 1];
        if (!next.step(n.byte)) {
            i = n.end;  // no token below can be valid either
            continue;
        }
        states[n.depth] = next;
        for (uint32_t k = n.tok_begin; k < n.tok_end; ++k) allowed[t.tokens[k]] = 1;
        ++i;
    }
}

void JsonVocab::allowed(const JsonRecognizer& s, uint8_t* allowed) const {
    if (s.complete())
        for (int32_t id : eog_) allowed[id] = 1;
    if (s.dead()) return;
    if (s.in_plain_string()) {
        for (size_t id = 0; id < plain_.size(); ++id) allowed[id] |= plain_[id];
        walk(not_plain_, s, allowed);
    } else {
        walk(all_, s, allowed);
    }
}

std::shared_ptr<const JsonVocab> make_json_vocab(const Tokenizer& tok) {
    const int32_t n = tok.n_vocab();
    std::vector<std::string> pieces(static_cast<size_t>(n));
    std::vector<bool> usable(static_cast<size_t>(n));
    for (int32_t id = 0; id < n; ++id) {
        const TokenType t = tok.token_type(id);
        usable[size_t(id)] = t == TokenType::normal || t == TokenType::byte || t == TokenType::user_defined ||
                             t == TokenType::undefined;
        if (usable[size_t(id)]) pieces[size_t(id)] = tok.token_to_piece(id, /*render_special=*/false);
    }
    return std::make_shared<const JsonVocab>(pieces, usable, tok.eog_ids());
}

// --- the constraint ---

JsonConstraint::JsonConstraint(std::shared_ptr<const JsonVocab> vocab, JsonOptions opt)
    : vocab_(std::move(vocab)), state_(opt) {}

namespace {
JsonOptions with_schema(const CompiledSchema* s) {
    JsonOptions o;
    o.schema = s;
    return o;
}
}  // namespace

JsonConstraint::JsonConstraint(std::shared_ptr<const JsonVocab> vocab, std::shared_ptr<const CompiledSchema> schema)
    : vocab_(std::move(vocab)), schema_(std::move(schema)), state_(with_schema(schema_.get())) {}

void JsonConstraint::apply(float* logits, int32_t n_vocab) const {
    thread_local std::vector<uint8_t> ok;
    ok.assign(size_t(n_vocab), 0);
    vocab_->allowed(state_, ok.data());
    const float neg = -std::numeric_limits<float>::infinity();
    const int32_t n = std::min(n_vocab, vocab_->n_vocab());
    for (int32_t i = 0; i < n; ++i)
        if (!ok[size_t(i)]) logits[i] = neg;
    for (int32_t i = n; i < n_vocab; ++i) logits[i] = neg;
}

void JsonConstraint::accept(int32_t token) {
    if (token < 0 || token >= vocab_->n_vocab() || vocab_->is_eog(token)) return;
    state_.feed(vocab_->piece(token));
}

}  // namespace kinglet
