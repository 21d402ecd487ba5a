#include "server/connection.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>

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

}  // namespace

ConnectionWatch::ConnectionWatch(const std::string& local_addr, int local_port, const std::string& remote_addr,
                                 int remote_port) {
    if (local_port <= 0 || remote_port <= 0) return;
    DIR* d = opendir("/proc/self/fd");
    if (!d) return;
    while (dirent* e = readdir(d)) {
        char* end = nullptr;
        const long fd = std::strtol(e->d_name, &end, 10);
        if (end == e->d_name || *end || fd < 0) continue;
        struct stat st;
        if (fstat(int(fd), &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
        sockaddr_storage peer{}, self{};
        socklen_t lp = sizeof peer, ls = sizeof self;
        if (getpeername(int(fd), reinterpret_cast<sockaddr*>(&peer), &lp) != 0) continue;
        if (!same_endpoint(peer, remote_addr, remote_port)) continue;
        if (getsockname(int(fd), reinterpret_cast<sockaddr*>(&self), &ls) != 0) continue;
        if (!same_endpoint(self, local_addr, local_port)) continue;
        fd_ = int(fd);
        break;
    }
    closedir(d);
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
