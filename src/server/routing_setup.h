// Turns the configuration's routing sections into running objects: remote providers and routes in the
// registry (local models are added by the loader, wrapped by meter_local), the API keys with their
// tenants, and the Accounting (budgets, ledger) the HTTP server uses.
#pragma once
#include <memory>

#include "ledger/ledger.h"
#include "router/provider.h"
#include "router/registry.h"
#include "server/accounting.h"
#include "server/auth.h"
#include "server/config.h"

namespace kinglet::server {

// A local model as the registry holds it: priced (price_per_hour_usd or price:), never remote.
std::shared_ptr<router::Provider> meter_local(const ModelConfig& mc, std::shared_ptr<router::Provider> local);

// Adds every provider and route of `c` to `registry`. Throws Error for a provider whose api_key_env is
// set but empty, or a route the router refuses (a regex that does not compile).
void register_routing(const Config& c, const std::shared_ptr<router::Registry>& registry);

// The server's API keys (server.api_keys, server.api_keys_file, then every tenant's keys) and which
// tenant each belongs to; with `ledger` (may be null) the Accounting.
struct KeysAndAccounting {
    KeySet keys;
    std::shared_ptr<Accounting> accounting;
};
KeysAndAccounting make_accounting(const Config& c, std::shared_ptr<ledger::Ledger> ledger);

}  // namespace kinglet::server
