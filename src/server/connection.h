// Noticing a client that went away while its (non-streaming) request is still being generated.
// cpp-httplib 0.11 gives a handler no access to the connection's socket, so it is found by the
// addresses the request carries (the TCP 4-tuple names exactly one socket of this process). The socket
// stays open while the handler runs, so the descriptor cannot be reused under us. The search (a walk
// over /proc/self/fd) is done once per connection, not per request: see connection.cpp.
#pragma once
#include <string>

namespace kinglet::server {

class ConnectionWatch {
public:
    ConnectionWatch(const std::string& local_addr, int local_port, const std::string& remote_addr, int remote_port);
    bool valid() const { return fd_ >= 0; }
    // True when the peer closed the connection (EOF, reset or error). Pending request bytes
    // (a pipelined request) count as alive.
    bool closed() const;

private:
    int fd_ = -1;
};

}  // namespace kinglet::server
