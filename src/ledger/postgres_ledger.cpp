#include "core/error.h"
#include "ledger/backends.h"

namespace kinglet::ledger {

std::unique_ptr<Ledger> open_postgres_ledger(const std::string& url) {
    fail(Errc::unsupported, "ledger {}: the PostgreSQL backend is not built yet", url);
}

}  // namespace kinglet::ledger
