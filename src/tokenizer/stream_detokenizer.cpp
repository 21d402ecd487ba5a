#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace kinglet {

StreamDetokenizer::StreamDetokenizer(const Tokenizer& tok, bool render_special)
    : tok_(tok), render_special_(render_special) {}

std::string StreamDetokenizer::push(int32_t id) {
    pending_ += tok_.token_to_piece(id, render_special_);
    return drain(false);
}

std::string StreamDetokenizer::finish() {
    return drain(true);
}

std::string StreamDetokenizer::drain(bool at_end) {
    std::string out;
    size_t i = 0;
    while (i < pending_.size()) {
        const unicode::Utf8Char ch = unicode::decode_utf8(pending_, i);
        if (ch.status == unicode::Utf8Status::ok) {
            out.append(pending_, i, ch.len);
        } else if (ch.status == unicode::Utf8Status::invalid || at_end) {
            out += unicode::kReplacementUtf8;
        } else {
            break;  // an incomplete character at the end: wait for the rest
        }
        i += ch.len;
    }
    pending_.erase(0, i);
    return out;
}

}  // namespace kinglet
