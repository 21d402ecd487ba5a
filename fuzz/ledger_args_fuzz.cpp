// Fuzzes what users type for the ledger: URLs (parse, resolve, redact) and `kinglet cost --from/--to`
// bounds. Any text must parse or end in kinglet::Error (never internal); a parsed bound must format
// back to a time that parses to the same instant.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/error.h"
#include "ledger/cost_report.h"
#include "ledger/url.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        const auto u = kinglet::ledger::parse_ledger_url(text);
        if (u.target.empty()) std::abort();
        kinglet::ledger::resolve_ledger_url(text, "/etc/kinglet");
        if (kinglet::ledger::redact_ledger_url(text).size() > text.size() + 3 * text.size()) std::abort();
    } catch (const kinglet::Error& e) {
        if (e.code() == kinglet::Errc::internal) std::abort();
    }
    for (bool upper : {false, true}) {
        try {
            const int64_t t = kinglet::ledger::parse_time_bound(text, upper);
            const std::string back = kinglet::ledger::format_utc(t);
            if (kinglet::ledger::parse_time_bound(back.substr(0, 19) + "Z", false) != t) std::abort();
        } catch (const kinglet::Error& e) {
            if (e.code() == kinglet::Errc::internal) std::abort();
        }
    }
    return 0;
}
