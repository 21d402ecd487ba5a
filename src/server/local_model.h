// A `models:` entry of the configuration loaded as a router::LocalProvider (its own Engine), with the
// entry's context, slots, threads, KV type and chat template: what kinglet serve runs, and what
// kinglet eval runs for the models a route or provider target of the same file reaches.
#pragma once
#include <memory>

#include "router/provider.h"
#include "server/config.h"

namespace kinglet::server {

// Throws Error naming the entry for a file that cannot be loaded or a chat template that cannot be read.
std::shared_ptr<router::Provider> load_local_model(const ModelConfig& mc);

}  // namespace kinglet::server
