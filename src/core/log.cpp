#include "core/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace kinglet::log {
namespace {

Level initial_level() {
    const char* e = std::getenv("KINGLET_LOG");
    if (!e) return Level::warn;
    if (!std::strcmp(e, "error")) return Level::error;
    if (!std::strcmp(e, "info")) return Level::info;
    if (!std::strcmp(e, "debug")) return Level::debug;
    return Level::warn;
}

std::atomic<int>& current() {
    static std::atomic<int> l{static_cast<int>(initial_level())};
    return l;
}

}  // namespace

Level level() { return static_cast<Level>(current().load(std::memory_order_relaxed)); }
void set_level(Level l) { current().store(static_cast<int>(l)); }

void write(Level l, std::string_view msg) {
    static std::mutex mu;
    static const char* names[] = {"error", "warn", "info", "debug"};
    auto now = std::chrono::system_clock::now();
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
    std::lock_guard<std::mutex> lock(mu);
    std::fprintf(stderr, "[%lld.%03lld %s] %.*s\n", static_cast<long long>(ms / 1000),
                 static_cast<long long>(ms % 1000), names[static_cast<int>(l)], static_cast<int>(msg.size()),
                 msg.data());
}

}  // namespace kinglet::log
