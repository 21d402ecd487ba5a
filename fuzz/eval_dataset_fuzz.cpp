// Fuzzes the eval dataset readers. The first byte picks the format (even: JSONL, odd: CSV); the rest
// is the file. Every row must either become a case or a bad row with a line number inside the input;
// anything but kinglet::Error escaping, or a crash, is a bug.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>

#include "core/error.h"
#include "eval/dataset.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace kinglet::eval;
    if (size == 0) return 0;
    const Format f = (data[0] & 1) ? Format::csv : Format::jsonl;
    const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
    const uint64_t lines = uint64_t(std::count(text.begin(), text.end(), '\n')) + 1;
    std::istringstream in(text);
    try {
        DatasetReader r(in, "fuzz", f, FieldMap{});
        Case c;
        uint64_t prev = 0;
        while (r.next(c)) {
            if (c.line < 1 || c.line > lines || c.line <= prev) std::abort();
            prev = c.line;
        }
        for (const auto& b : r.bad_rows())
            if (b.line < 1 || b.line > lines || b.message.empty()) std::abort();
    } catch (const kinglet::Error&) {
    }
    return 0;
}
