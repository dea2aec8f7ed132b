// The software RDMA provider: iWARP (MPA/DDP/RDMAP, rdma/soft/iwarp_stream.h) over TCP sockets,
// interoperable with the Linux kernel's soft-iWARP (siw). One device, "soft0", usable on every
// local IP address (loopback included).
//
// Threads: one provider thread runs an epoll loop over all listening and connected sockets; it
// reads, places data and generates responses. Posting threads (any thread) encode work requests
// and write to the socket themselves under the connection's mutex (no hop to the provider thread
// on the send path); a would-block write arms EPOLLOUT and the provider thread finishes it.
// Completions go to the CQ with an eventfd for the owner's event loop. See docs/rdma.md.
#pragma once
#include <cstdint>

#include "rdma/rdma.h"

namespace sd::rdma::soft {

struct SoftOptions {
  bool crc = false;          // ask for MPA CRC32c (used when either side asks)
  uint8_t mpa_revision = 2;  // 1, or 2 (RFC 6581 enhanced connection setup)
  // The initiator requests the RFC 6581 peer-to-peer RTR exchange (a zero-length RDMA Read):
  // the responder then enters RTS only once it is ready to receive, which Linux siw needs (data
  // sent right after its MPA reply can otherwise sit unprocessed, docs/rdma.md).
  bool peer_to_peer = true;
  uint32_t max_payload = 65536 - 64;  // DDP payload bytes per FPDU
  // SO_SNDBUF/SO_RCVBUF of the connection's socket (0: the kernel's autotuning). A Read Response
  // or Write of 1 MiB then goes into the socket in one sendmsg instead of window by window.
  int socket_buffer = 4 << 20;
  // After a thread waited on a connection's socket itself (CompletionQueue::waitProgress), the
  // provider thread leaves that socket's input to it for this long: a thread that comes back to
  // wait within the time finds its input in the socket, with no provider wake-up and no epoll
  // change per message. Afterwards the provider thread reads again (it looks when the grace
  // could end at the earliest). 0: hand back at once.
  int owner_grace_us = 4000;
  // Initiator: when the answer to its RTR has not come after this long, a zero-length RDMA Write
  // follows (then more, at doubling intervals, four in all), for a peer that has the RTR in its
  // socket unread (Linux siw, docs/rdma.md). 0: never.
  int rtr_nudge_ms = 10;
};

Provider* softProvider();
// Options for connections created afterwards. Defaults come from the environment:
// SD_SOFT_CRC=1, SD_SOFT_MPA_REV=1|2, SD_SOFT_P2P=0|1, SD_SOFT_FPDU=<payload bytes>,
// SD_SOFT_SOCKBUF=<bytes>, SD_SOFT_OWNER_GRACE_US=<microseconds>, SD_SOFT_RTR_NUDGE_MS=<ms>,
// SD_SOFT_TRACE=1 (print every FPDU header to stderr).
void setSoftOptions(const SoftOptions& o);
SoftOptions softOptions();

}  // namespace sd::rdma::soft
