#include "ledger/url.h"

#include <filesystem>

#include "core/error.h"

namespace kinglet::ledger {

LedgerUrl parse_ledger_url(const std::string& url) {
    if (url.empty()) fail(Errc::invalid_argument, "ledger URL is empty (want sqlite://PATH or postgresql://...)");
    if (url.find('\0') != std::string::npos) fail(Errc::invalid_argument, "ledger URL contains a NUL byte");
    const auto scheme_end = url.find("://");
    if (scheme_end == std::string::npos) return {LedgerUrl::Kind::sqlite, url};
    const std::string scheme = url.substr(0, scheme_end);
    if (scheme == "postgresql" || scheme == "postgres") {
        return {LedgerUrl::Kind::postgres, url};
    }
    if (scheme == "sqlite") {
        std::string path = url.substr(scheme_end + 3);
        if (path.empty()) fail(Errc::invalid_argument, "ledger URL '{}' names no file (want sqlite://PATH)", url);
        if (path.find('?') != std::string::npos)
            fail(Errc::invalid_argument, "ledger URL '{}': SQLite URLs take no parameters ('?')", url);
        return {LedgerUrl::Kind::sqlite, path};
    }
    fail(Errc::invalid_argument, "ledger URL '{}': unknown scheme '{}' (want sqlite://, postgresql:// or postgres://)",
         url, scheme);
}

std::string redact_ledger_url(const std::string& url) {
    std::string out = url;
    const auto scheme_end = out.find("://");
    if (scheme_end != std::string::npos) {
        const auto authority = scheme_end + 3;
        const auto at = out.find('@', authority);
        const auto slash = out.find('/', authority);
        if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
            const auto colon = out.find(':', authority);
            if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
        }
    }
    for (size_t p = out.find("password="); p != std::string::npos; p = out.find("password=", p + 1)) {
        const auto start = p + 9;
        const auto end = out.find('&', start);
        out.replace(start, (end == std::string::npos ? out.size() : end) - start, "***");
    }
    return out;
}

std::string resolve_ledger_url(const std::string& url, const std::string& base_dir) {
    const LedgerUrl u = parse_ledger_url(url);
    if (u.kind != LedgerUrl::Kind::sqlite || base_dir.empty()) return url;
    const std::filesystem::path p(u.target);
    if (p.is_absolute()) return url;
    return "sqlite://" + (std::filesystem::path(base_dir) / p).lexically_normal().string();
}

std::string default_ledger_url(const std::string& dir) {
    const std::filesystem::path base = dir.empty() ? std::filesystem::current_path() : std::filesystem::absolute(dir);
    return "sqlite://" + (base / kDefaultLedgerFile).lexically_normal().string();
}

}  // namespace kinglet::ledger
