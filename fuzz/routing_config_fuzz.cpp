// Fuzzes the configuration reader with its routing sections: any text must end in a validated Config
// or a kinglet::Error naming the problem — never a crash, a hang or another exception.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/error.h"
#include "server/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view yaml(reinterpret_cast<const char*>(data), size);
    try {
        auto c = kinglet::server::parse_config(yaml, "fuzz.yaml", "/nonexistent");
        kinglet::server::validate(c);
    } catch (const kinglet::Error&) {
    }
    return 0;
}
