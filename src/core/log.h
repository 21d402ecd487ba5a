// Minimal leveled logging to stderr. The level comes from KINGLET_LOG (error, warn, info, debug);
// the default is warn so that command output stays clean.
#pragma once
#include <fmt/format.h>

#include <string_view>

namespace kinglet::log {

enum class Level { error = 0, warn = 1, info = 2, debug = 3 };

Level level();
void set_level(Level l);
void write(Level l, std::string_view msg);

template <typename... Args>
void error(fmt::format_string<Args...> f, Args&&... a) {
    if (level() >= Level::error) write(Level::error, fmt::format(f, std::forward<Args>(a)...));
}
template <typename... Args>
void warn(fmt::format_string<Args...> f, Args&&... a) {
    if (level() >= Level::warn) write(Level::warn, fmt::format(f, std::forward<Args>(a)...));
}
template <typename... Args>
void info(fmt::format_string<Args...> f, Args&&... a) {
    if (level() >= Level::info) write(Level::info, fmt::format(f, std::forward<Args>(a)...));
}
template <typename... Args>
void debug(fmt::format_string<Args...> f, Args&&... a) {
    if (level() >= Level::debug) write(Level::debug, fmt::format(f, std::forward<Args>(a)...));
}

}  // namespace kinglet::log
