// Paths tests use: the read-only reference folder (../shared) and the source tree.
#pragma once
#include <cstdlib>
#include <filesystem>
#include <string>

namespace kinglet::test {

inline std::filesystem::path shared_dir() {
    if (const char* env = std::getenv("KINGLET_SHARED_DIR")) return env;
    return KINGLET_SHARED_DIR;
}
inline std::filesystem::path models_dir() { return shared_dir() / "models"; }
inline std::filesystem::path source_dir() { return KINGLET_SOURCE_DIR; }
inline std::string kinglet_binary() { return KINGLET_BINARY; }

}  // namespace kinglet::test
