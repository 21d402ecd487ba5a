#include "ledger/backends.h"
#include "ledger/url.h"

namespace kinglet::ledger {

std::unique_ptr<Ledger> open_ledger(const std::string& url) {
    const LedgerUrl u = parse_ledger_url(url);
    if (u.kind == LedgerUrl::Kind::postgres) return open_postgres_ledger(url);
    return open_sqlite_ledger(url, u.target);
}

}  // namespace kinglet::ledger
