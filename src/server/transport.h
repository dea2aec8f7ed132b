// The connection core's view of its transport (TCP or SMB Direct): a sink for whole SMB2
// transport messages (what follows the Direct-TCP length prefix, or one reassembled MS-SMBD
// message). Implemented by runtime/ shells; send() may be called from any thread.
#pragma once
#include <optional>
#include <memory>
#include <span>
#include <string>

#include "base/bytes.h"
#include "smbdirect/smbd_wire.h"

namespace sd::server {

struct TransportInfo {
  std::string kind;        // "tcp" or "rdma"
  std::string peer;        // "127.0.0.1:51234"
  std::string local;       // "127.0.0.1:445"
  bool rdma = false;
  // Largest message the transport carries (Direct TCP: 24-bit length).
  uint32_t max_message = 0xFFFFFF;
};

class Transport {
 public:
  virtual ~Transport() = default;
  // Sends one transport message made of `parts` (concatenated, no copy required). Thread-safe.
  virtual Status send(std::span<const ByteView> parts) = 0;
  Status send(ByteView whole) { return send(std::span<const ByteView>(&whole, 1)); }
  // Closes the connection; pending and later sends fail. Thread-safe, idempotent.
  virtual void close() = 0;
  virtual const TransportInfo& info() const = 0;

  // SMB Direct only (MS-SMB2 3.3.5.12/3.3.5.13 RDMA channels); TCP reports "not supported".
  // Sends like send(), the last fragment as Send with Invalidate of the peer's `rkey`.
  virtual Status sendInvalidate(std::span<const ByteView> parts, uint32_t rkey) { return send(parts); }
  // A registered buffer of n bytes for the next rdmaWrite of this connection's thread.
  virtual Result<std::span<uint8_t>> rdmaBuffer(size_t n) {
    return err(NtStatus::kNotSupported, "no RDMA on this transport");
  }
  // RDMA Write of `data` (inside rdmaBuffer()) into the peer's buffers; a response sent after it
  // reaches the peer after the data (the transport may return before the write completed).
  virtual Status rdmaWrite(ByteView data, std::span<const smbdirect::BufferDescriptorV1> to) {
    return err(NtStatus::kNotSupported, "no RDMA on this transport");
  }
  // RDMA Read of the `n` bytes of the peer's buffers `from`, returned in registered memory valid
  // until the next RDMA call of this connection (the transport may have read them ahead, while
  // earlier requests ran); the caller may change them in place (decrypt them).
  virtual Result<std::span<uint8_t>> rdmaFetch(std::span<const smbdirect::BufferDescriptorV1> from, size_t n) {
    return err(NtStatus::kNotSupported, "no RDMA on this transport");
  }
};

// What a transport delivers into: one per connection, called from that connection's thread.
class MessageHandler {
 public:
  virtual ~MessageHandler() = default;
  // `message` is valid only during the call (the shell reuses its receive buffer).
  virtual void onMessage(ByteView message) = 0;
  virtual void onDisconnect() = 0;
  // The plaintext of a small `message` encrypted for a session of this connection, for a shell
  // that looks into queued requests to start their RDMA Reads early; nullopt otherwise.
  virtual std::optional<Bytes> peekPlaintext(ByteView message) { return std::nullopt; }
};

}  // namespace sd::server
