// Building eval targets from their specs (kinglet eval --target): local files get their own Engine;
// server, remote, route and model targets become router::Providers (the last three from --config).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "eval/config_targets.h"
#include "cli/model_args.h"
#include "eval/target.h"

namespace kinglet::cli {

struct TargetContext {
    ModelArgs model;          // threads, ctx and KV type for local targets (path ignored)
    std::shared_ptr<eval::ConfigTargets> config;  // --config: remote providers and routes (null without it)
    eval::TaskSpec task;
    bool quiet = false;
    int jobs = 1;
};

std::unique_ptr<eval::Target> make_target(const eval::TargetSpec& spec, const TargetContext& ctx);

// Makes names unique within a run ("tiny", "tiny#2", ...).
void unique_names(std::vector<eval::TargetSpec>& specs);

}  // namespace kinglet::cli
