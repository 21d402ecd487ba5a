// The backends behind open_ledger(); each opens, creates and migrates its database.
#pragma once
#include <memory>
#include <string>

#include "ledger/ledger.h"

namespace kinglet::ledger {

std::unique_ptr<Ledger> open_sqlite_ledger(const std::string& url, const std::string& path);
std::unique_ptr<Ledger> open_postgres_ledger(const std::string& url);

}  // namespace kinglet::ledger
