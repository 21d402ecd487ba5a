// Fuzzes the GGUF reader: any byte string must parse or end in kinglet::Error, never crash, and a
// parsed file's tensors must lie inside the buffer.
#include <cstdint>
#include <cstdlib>

#include "core/error.h"
#include "gguf/reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        auto r = kinglet::gguf::Reader::from_memory(data, size, "fuzz.gguf");
        for (const auto& t : r->tensors()) {
            if (t.data < data || t.data + t.n_bytes > data + size) std::abort();
        }
        for (const auto& [k, v] : r->metadata()) (void)v.to_string();
    } catch (const kinglet::Error&) {
    }
    return 0;
}
