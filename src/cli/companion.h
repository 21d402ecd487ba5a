// The commands that run in the companion binary `kinglet-serve` rather than in `kinglet`.
//
// serve, eval and cost need the network and database libraries (cpp-httplib with OpenSSL, libcurl,
// libpq and their dependency trees). Loading those costs every process ~8 MB of resident memory and
// OpenSSL's start-up, whether it uses them or not — for a 135M model that is more than the whole
// overhead budget of the engine. So `kinglet` links only what the engine commands need, and hands these
// three to `kinglet-serve` (installed next to it, same command line) by exec: same PID, same arguments,
// same exit status, so signals and scripts behave exactly as if one binary did everything.
#pragma once

#include <array>
#include <string_view>

namespace kinglet::cli {

struct CompanionCommand {
    std::string_view name;
    std::string_view description;
};

inline constexpr std::string_view kCompanionBinary = "kinglet-serve";

inline constexpr std::array<CompanionCommand, 3> kCompanionCommands{{
    {"cost", "Requests, tokens and spend from the ledger, savings against one provider; --project: monthly "
             "cost options"},
    {"eval", "Measure models, servers, remote APIs or routes on a labelled dataset, side by side"},
    {"serve", "Serve models over the OpenAI API (chat, completions, embeddings) with continuous batching"},
}};

inline std::string_view companion_description(std::string_view name) {
    for (const auto& c : kCompanionCommands)
        if (c.name == name) return c.description;
    return {};
}

// In `kinglet`: when argv names a companion command, exec `kinglet-serve` from the directory of the
// running binary with the same arguments (never returns on success). Returns the exit status to use
// when that fails (the message is printed), or -1 when argv names no companion command.
int run_in_companion(int argc, char** argv);

// In `kinglet`: list the companion commands in `--help` (their options are kinglet-serve's).
void register_companion_stubs();

}  // namespace kinglet::cli
