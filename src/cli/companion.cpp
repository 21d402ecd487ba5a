// Only in the `kinglet` binary: hands serve, eval and cost to kinglet-serve (see companion.h).
#include "cli/companion.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include "cli/command.h"

namespace kinglet::cli {

int run_in_companion(int argc, char** argv) {
    if (argc < 2 || companion_description(argv[1]).empty()) return -1;
    std::error_code ec;
    const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) {
        std::fprintf(stderr, "kinglet %s: error: cannot find the running binary (/proc/self/exe: %s), so cannot "
                     "start %s\n", argv[1], ec.message().c_str(), kCompanionBinary.data());
        return 1;
    }
    const std::string companion = (self.parent_path() / kCompanionBinary).string();
    ::execv(companion.c_str(), argv);
    const int err = errno;
    std::fprintf(stderr, "kinglet %s: error: this command runs in %s, which must be installed next to %s; "
                 "cannot run %s: %s\n", argv[1], kCompanionBinary.data(), self.c_str(), companion.c_str(),
                 std::strerror(err));
    return err == ENOENT ? 1 : 70;
}

void register_companion_stubs() {
    for (const auto& c : kCompanionCommands)
        registry().push_back(Command{std::string(c.name), std::string(c.description), [](CLI::App&) {
                                         // Never reached: main() hands these to the companion before parsing.
                                         return std::function<int()>([] { return 70; });
                                     }});
}

}  // namespace kinglet::cli
