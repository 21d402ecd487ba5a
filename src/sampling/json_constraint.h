// JSON mode: generation restricted to text that is, or can still become, one JSON value (RFC 8259) —
// what OpenAI's `response_format: {"type": "json_object"}` promises.
//
// JsonRecognizer reads bytes one at a time and refuses the first byte that no JSON text could continue
// with (structure, numbers, literals, string escapes including surrogate pairs, and UTF-8 inside
// strings: the output is always valid UTF-8). It is small and trivially copyable, so a token can be
// tried on a copy.
//
// JsonVocab is the vocabulary as a byte trie (built once per tokenizer, shared by every request):
// allowed() walks it from a recognizer state and marks each token whose bytes the recognizer accepts,
// pruning a whole subtree at its first refused byte. Inside a string most tokens are plain text that
// keeps the string open whatever the state around it; those are marked from a precomputed mask and
// only the others (quotes, backslashes, pieces of UTF-8 characters) are walked.
//
// JsonConstraint is the sampler's Constraint over both. Limits keep a model from wandering:
// whitespace runs outside strings are bounded and nesting depth is at most 64.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sampling/json_schema_spec.h"
#include "sampling/sampler.h"
#include "tokenizer/tokenizer.h"

namespace kinglet {

struct JsonOptions {
    bool object_only = true;   // the top-level value must be an object (json_object)
    bool leading_ws = false;   // whitespace before the top-level value
    bool trailing_ws = false;  // whitespace after the top-level value
    int max_depth = 64;        // containers nested deeper are refused (1..64)
    // Whitespace between tokens: at most max_ws bytes in a run (0: unlimited), of which at most
    // max_newlines line feeds (-1: unlimited; otherwise carriage returns are refused), so that a model
    // cannot fill its answer with blank lines.
    int max_ws = 16;
    int max_newlines = 1;
    // json_schema: the value must also follow this schema (which must outlive the recognizer);
    // object_only is then ignored and the schema's root type decides.
    const CompiledSchema* schema = nullptr;
};

class JsonRecognizer {
public:
    explicit JsonRecognizer(JsonOptions opt = {});

    // Advances by one byte; false when `c` cannot continue any JSON text (the recognizer is then dead
    // and refuses everything).
    bool step(uint8_t c);
    bool feed(std::string_view bytes);
    // The bytes so far form one whole JSON text.
    bool complete() const;
    // Inside a string with no escape, surrogate pair or UTF-8 character half read.
    bool in_plain_string() const;
    // Inside a string (possibly within an escape or a UTF-8 character).
    bool in_string() const { return mode_ == kString || mode_ == kEscape || mode_ == kHex; }
    bool dead() const { return mode_ == kDead; }

private:
    enum Mode : uint8_t {
        kValue, kObjFirst, kObjKey, kColon, kObjNext, kArrFirst, kArrNext,
        kString, kEscape, kHex, kNumber, kLiteral, kDone, kDead
    };
    bool refuse() {
        mode_ = kDead;
        return false;
    }
    bool begin_value(uint8_t c);
    bool whitespace(uint8_t c);
    void value_done();
    bool string_byte(uint8_t c);
    bool schema_string_byte(uint8_t c);
    bool top_is_object() const { return (stack_ >> (depth_ - 1)) & 1; }
    // The schema node of the innermost container (-1: free-form).
    int frame_node() const { return depth_ >= 1 && depth_ <= kFrames ? node_[depth_ - 1] : -1; }
    const CompiledSchema::Node* frame() const {
        const int f = frame_node();
        return f >= 0 ? &schema_->nodes[size_t(f)] : nullptr;
    }
    void enter_array_value() {
        const auto* f = frame();
        value_node_ = int16_t(f ? f->items : -1);
    }

    uint64_t stack_ = 0;      // bit d: the container at depth d + 1 is an object
    uint16_t hex_ = 0;        // the \u escape's digits so far
    Mode mode_ = kValue;
    uint8_t depth_ = 0;
    uint8_t sub_ = 0;         // number state, literal index or hex digits left
    uint8_t pos_ = 0;         // literal: bytes matched
    uint8_t ws_ = 0;          // current whitespace run
    uint8_t nl_ = 0;          // line feeds in it
    uint8_t utf8_need_ = 0;   // continuation bytes still due
    uint8_t utf8_lo_ = 0x80, utf8_hi_ = 0xBF;  // range of the next continuation byte
    uint8_t surrogate_ = 0;   // 1: a high surrogate escape wants "\u" next; 2: reading its low half
    bool key_ = false;        // the string is an object key
    bool object_only_, leading_ws_, trailing_ws_;
    uint8_t max_depth_, max_ws_;
    int8_t max_nl_;

    // json_schema (schema_ null: none of this is used).
    static constexpr int kFrames = CompiledSchema::kMaxDepth + 1;
    const CompiledSchema* schema_ = nullptr;
    int16_t value_node_ = -1;  // the schema of the value about to start (-1: any)
    int16_t key_node_ = -1;    // the schema of the value after the key just read
    uint8_t smode_ = 0;        // the string being read: 0 free, 1 a listed key, 2 one of an enum
    bool int_only_ = false;    // the number being read must be an integer
    uint16_t spos_ = 0;        // bytes of the key / enum string so far
    uint64_t cand_ = 0;        // keys / enum values still matching
    int16_t node_[kFrames];    // schema node of the container at each depth
    uint64_t seen_[kFrames];   // properties an object at that depth has written
};

class JsonVocab {
public:
    // pieces[id]: the bytes token id stands for; usable[id]: false for tokens never to be produced
    // (control, unknown, unused). `eog`: the end-of-generation tokens, allowed once the text is complete.
    JsonVocab(const std::vector<std::string>& pieces, const std::vector<bool>& usable, std::vector<int32_t> eog);

    int32_t n_vocab() const { return int32_t(offsets_.size()) - 1; }
    std::string_view piece(int32_t id) const {
        return std::string_view(bytes_).substr(offsets_[size_t(id)], offsets_[size_t(id) + 1] - offsets_[size_t(id)]);
    }
    bool is_eog(int32_t id) const;
    // Sets allowed[id] = 1 for every token that may follow state `s` (allowed has n_vocab() entries and
    // is not cleared first).
    void allowed(const JsonRecognizer& s, uint8_t* allowed) const;

private:
    struct Node {  // preorder: a node's subtree is [this, end)
        uint32_t end;
        uint32_t tok_begin, tok_end;  // tokens whose piece ends here
        uint32_t depth;               // bytes from the root (>= 1)
        uint8_t byte;
    };
    struct Trie {
        std::vector<Node> nodes;
        std::vector<int32_t> tokens;
        uint32_t max_depth = 0;
    };
    static Trie build(const JsonVocab& v, std::vector<int32_t> ids);
    static void walk(const Trie& t, const JsonRecognizer& s, uint8_t* allowed);

    std::string bytes_;
    std::vector<uint32_t> offsets_;
    Trie all_, not_plain_;
    std::vector<uint8_t> plain_;  // 1: usable text that keeps any plain string open
    std::vector<int32_t> eog_;
};

// The JsonVocab of a tokenizer: every token's bytes (as the stream detokenizer writes them); normal,
// byte and user-defined tokens are usable, control, unknown and unused ones are not.
std::shared_ptr<const JsonVocab> make_json_vocab(const Tokenizer& tok);

class JsonConstraint final : public Constraint {
public:
    JsonConstraint(std::shared_ptr<const JsonVocab> vocab, JsonOptions opt = {});
    // json_schema: the answer is also an instance of `schema` (opt.schema is set from it).
    JsonConstraint(std::shared_ptr<const JsonVocab> vocab, std::shared_ptr<const CompiledSchema> schema);
    void apply(float* logits, int32_t n_vocab) const override;
    void accept(int32_t token) override;
    bool complete() const override { return state_.complete(); }
    const JsonRecognizer& state() const { return state_; }

private:
    std::shared_ptr<const JsonVocab> vocab_;
    std::shared_ptr<const CompiledSchema> schema_;
    JsonRecognizer state_;
};

}  // namespace kinglet
