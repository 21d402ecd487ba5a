// The ledger's schema, as numbered migrations applied in order on open (both backends keep the same
// tables and columns; only the SQL types differ). The version reached is recorded in schema_version,
// one row per migration applied. Never edit a released migration: append a new one.
//
//   requests  one row per request (seq: surrogate key in arrival-of-commit order)
//   attempts  one row per provider tried, (request_seq, idx) in the order tried
#pragma once
#include <string>
#include <vector>

#include "ledger/ledger.h"

namespace kinglet::ledger {

enum class Dialect { sqlite, postgres };

struct Migration {
    int version;
    const char* what;
    std::vector<std::string> statements;
};

const std::vector<Migration>& migrations(Dialect d);
int latest_schema_version();

// The requests columns written and read, in this order (without seq).
extern const char* const kRequestColumns;
// The attempts columns (without request_seq and idx).
extern const char* const kAttemptColumns;

// Throws Error (internal) when a record holds a value no backend can store faithfully (NaN, ±inf),
// so a bad record fails its own append instead of the batch it would join.
void check_storable(const Record& r);

}  // namespace kinglet::ledger
