// Ledger URLs: which backend, and what it opens. Kept apart from the backends so the server's config
// check and `kinglet cost` validate a URL without connecting.
#pragma once
#include <string>

namespace kinglet::ledger {

struct LedgerUrl {
    enum class Kind { sqlite, postgres } kind = Kind::sqlite;
    std::string target;  // sqlite: the file path; postgres: the URL as libpq takes it
};

// "sqlite://PATH" ("sqlite:///abs/x.db" is absolute, "sqlite://x.db" relative), a bare PATH, or
// "postgresql://..." / "postgres://...". Throws Error (invalid_argument) naming the URL otherwise.
LedgerUrl parse_ledger_url(const std::string& url);

// The URL fit for messages and logs: a password (postgresql://user:PASSWORD@host, password=...) is
// replaced by "***".
std::string redact_ledger_url(const std::string& url);

// The URL with a relative SQLite path made relative to base_dir (the config file's folder), so a
// config file means the same ledger whatever the working directory. Other URLs are returned as given.
std::string resolve_ledger_url(const std::string& url, const std::string& base_dir);

// The ledger kept when the configuration names none: a SQLite file of this name in the config file's
// folder (the working directory when kinglet serve runs without a config file).
inline constexpr const char* kDefaultLedgerFile = "kinglet-ledger.db";
// "sqlite:///ABS/DIR/kinglet-ledger.db" for folder `dir` ("" = the working directory), made absolute so
// logs and `kinglet cost` name the one file whatever the working directory.
std::string default_ledger_url(const std::string& dir);

}  // namespace kinglet::ledger
