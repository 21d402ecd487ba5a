#include "server/connection.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cstdlib>
#include <cstring>

namespace kinglet::server {

namespace {

bool same_endpoint(const sockaddr_storage& sa, const std::string& addr, int port) {
    char buf[INET6_ADDRSTRLEN] = {};
    int p = -1;
    if (sa.ss_family == AF_INET) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(&sa);
        inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf);
        p = ntohs(in->sin_port);
    } else if (sa.ss_family == AF_INET6) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&sa);
        inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof buf);
        p = ntohs(in6->sin6_port);
    } else {
        return false;
    }
    return p == port && addr == buf;
}

// Whether descriptor `fd` is the TCP connection local -> remote (false for anything else, sockets
// of other connections and non-sockets alike).
bool is_connection(int fd, const std::string& local_addr, int local_port, const std::string& remote_addr,
                   int remote_port) {
    sockaddr_storage peer{}, self{};
    socklen_t lp = sizeof peer, ls = sizeof self;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &lp) != 0) return false;
    if (!same_endpoint(peer, remote_addr, remote_port)) return false;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&self), &ls) != 0) return false;
    return same_endpoint(self, local_addr, local_port);
}

// The descriptor the last watch on this thread found. cpp-httplib serves every request of a keep-alive
// connection on the thread that accepted it, so the next request usually comes on the same socket:
// checked with two syscalls instead of a walk over every descriptor of the process.
thread_local int last_fd = -1;

}  // namespace

ConnectionWatch::ConnectionWatch(const std::string& local_addr, int local_port, const std::string& remote_addr,
                                 int remote_port) {
    if (local_port <= 0 || remote_port <= 0) return;
    if (last_fd >= 0 && is_connection(last_fd, local_addr, local_port, remote_addr, remote_port)) {
        fd_ = last_fd;
        return;
    }
    DIR* d = opendir("/proc/self/fd");
    if (!d) return;
    while (dirent* e = readdir(d)) {
        char* end = nullptr;
        const long fd = std::strtol(e->d_name, &end, 10);
        if (end == e->d_name || *end || fd < 0) continue;
        if (!is_connection(int(fd), local_addr, local_port, remote_addr, remote_port)) continue;
        fd_ = int(fd);
        break;
    }
    closedir(d);
    last_fd = fd_;
}

bool ConnectionWatch::closed() const {
    if (fd_ < 0) return false;
    pollfd p{fd_, short(POLLIN | POLLRDHUP), 0};
    if (poll(&p, 1, 0) <= 0) return false;
    if (p.revents & (POLLHUP | POLLERR | POLLNVAL | POLLRDHUP)) return true;
    if (p.revents & POLLIN) {
        char c;
        const ssize_t n = recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT);
        return n == 0;
    }
    return false;
}

}  // namespace kinglet::server
