#include <cstdio>
#include <map>

#include "cli/command.h"
#include "cli/companion.h"
#include "core/error.h"
#include "core/log.h"

namespace kinglet::cli {
std::vector<Command>& registry() {
    static std::vector<Command> r;
    return r;
}
}  // namespace kinglet::cli

int main(int argc, char** argv) {
    using namespace kinglet;
#ifdef KINGLET_ENGINE_ONLY
    // serve, eval and cost live in kinglet-serve (cli/companion.h).
    if (const int status = cli::run_in_companion(argc, argv); status >= 0) return status;
    cli::register_companion_stubs();
#endif
    CLI::App app{"kinglet — run, serve, route, evaluate and fine-tune small language models on CPU"};
    app.set_version_flag("--version", "kinglet 0.1.0");
    app.require_subcommand(1);
    std::map<std::string, std::function<int()>> actions;
    auto& cmds = cli::registry();
    std::sort(cmds.begin(), cmds.end(), [](auto& a, auto& b) { return a.name < b.name; });
    for (auto& c : cmds) {
        CLI::App* sub = app.add_subcommand(c.name, c.description);
        actions[c.name] = c.setup(*sub);
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    for (auto* sub : app.get_subcommands()) {
        try {
            return actions[sub->get_name()]();
        } catch (const Error& e) {
            std::fprintf(stderr, "kinglet %s: error: %s\n", sub->get_name().c_str(), e.what());
            return e.code() == Errc::internal ? 70 : 1;
        } catch (const std::exception& e) {
            std::fprintf(stderr, "kinglet %s: internal error: %s\n", sub->get_name().c_str(), e.what());
            return 70;
        }
    }
    return 0;
}
