// Each subcommand lives in its own file under cli/ and registers itself here with a static
// Registrar, so adding a command never touches main.cpp.
#pragma once
#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace kinglet::cli {

struct Command {
    std::string name;
    std::string description;
    // Adds options to `sub` and returns the action to run when the subcommand is chosen.
    std::function<std::function<int()>(CLI::App& sub)> setup;
};

std::vector<Command>& registry();

struct Registrar {
    explicit Registrar(Command c) { registry().push_back(std::move(c)); }
};

}  // namespace kinglet::cli
