// Socket address text and scatter-gather bookkeeping shared by the TCP shells (server and
// client) and the RDMA providers.
#pragma once
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cstddef>
#include <string_view>

namespace sd {

// "a.b.c.d:port" or "[v6]:port", numeric only, port 0-65535. `len` (optional) gets the size
// of the address family's sockaddr.
bool parseSockaddr(std::string_view s, sockaddr_storage* out, socklen_t* len = nullptr);

// After a write of `written` bytes from the `n` entries at `cur`: steps past the entries that
// went whole and trims the one that went in part.
void advanceIov(iovec*& cur, size_t& n, size_t written);

}  // namespace sd
