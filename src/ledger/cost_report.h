// `kinglet cost`: the ledger's requests, tokens and spend by route, provider, day and tenant, the
// escalation rate, and what the same requests would have cost on one baseline provider.
#pragma once
#include <nlohmann/json.hpp>

#include <optional>
#include <string>

#include "ledger/ledger.h"

namespace kinglet::ledger {

// "Every request on provider X": X's prices applied to the real token counts of the served answers.
struct Baseline {
    std::string provider;
    double input_per_mtok = 0;
    double output_per_mtok = 0;
};

// The report as JSON (the shape docs/cost.md documents).
nlohmann::json cost_report(Ledger& ledger, const Query& q, const std::optional<Baseline>& baseline);
// The same report as tables for a terminal.
std::string format_cost_report(const nlohmann::json& report);

// A --from/--to bound as Unix ms (UTC): "YYYY-MM-DD", "YYYY-MM", "YYYY-MM-DDTHH:MM[:SS][Z]" or
// "YYYY-MM-DD HH:MM[:SS][Z]". As an upper bound (`upper`), a date or month includes the whole
// day or month (the bound is the start of the next one); a time is exclusive.
// Throws Error (invalid_argument) naming the text otherwise.
int64_t parse_time_bound(const std::string& text, bool upper);
// "YYYY-MM-DDTHH:MM:SSZ" (with ".mmm" when not a whole second).
std::string format_utc(int64_t time_ms);

}  // namespace kinglet::ledger
