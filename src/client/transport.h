// The client's transports (the counterpart of server::Transport): one connection to the server
// carrying whole SMB2 messages. TCP frames each message with the Direct TCP 4-byte length prefix
// (MS-SMB2 2.1); SMB Direct (MS-SMBD) sends it over an smbdirect::Endpoint and can also move
// READ/WRITE data by RDMA from memory registered here. Encryption, signing and the MessageId
// multiplexing stay in SmbClient: a transport sees only bytes.
//
// Threads: send() is called under SmbClient's send lock (one writer at a time); receive() and
// waitReadable() by the thread holding the receiver role (one reader at a time); shutdown() from
// any thread, to wake that reader (a shut down TCP socket reads as closed, a closed endpoint as
// disconnected). The destructor runs once nobody reads or writes any more.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "base/bytes.h"
#include "base/result.h"

namespace sd::rdma {
class MemoryRegion;
}  // namespace sd::rdma
namespace sd::smbdirect {
class Endpoint;
}  // namespace sd::smbdirect

namespace sd::client {

struct ConnectOptions;
struct ConnectionInfo;

class Transport {
 public:
  virtual ~Transport() = default;
  // Sends one message made of `a` then `b` (`b` may be empty), no copy required. A send that
  // failed may have left part of the message on the line: the connection is then unusable.
  virtual Status send(ByteView a, ByteView b) = 0;
  // The next whole message as the server sent it (still encrypted if it was). timeout_ms < 0:
  // the connection's timeout; TCP always waits the socket's (the connection's) timeout, so a
  // caller with a shorter wait polls first (pollable, waitReadable). kIoTimeout: nothing came
  // (the stream is still framed); fatal errors: the connection is gone or the stream cannot be
  // framed any more.
  virtual Result<Bytes> receive(int timeout_ms) = 0;
  // Whether the line can be polled for a message without reading it (TCP: a descriptor).
  virtual bool pollable() const = 0;
  // With pollable(): waits up to timeout_ms for something to read.
  virtual bool waitReadable(int timeout_ms) = 0;
  // Wakes a blocked receive (it then fails); later sends and receives fail too.
  virtual void shutdown() = 0;
  // The transport's part of ConnectionInfo (server address, transport kind, RDMA device).
  virtual void describe(ConnectionInfo& info) const = 0;
  // The largest READ/WRITE payload: `negotiated`, or less where the transport limits it (SMB
  // Direct: MaxReadWriteSize for RDMA transfers, the fragmented message size inline).
  virtual uint32_t ioLimit(bool rdma, uint32_t negotiated) const { return negotiated; }
  // SMB Direct only: the endpoint (nullptr on TCP) and memory registered for RDMA transfers.
  virtual std::shared_ptr<smbdirect::Endpoint> endpoint() const { return nullptr; }
  virtual Result<std::shared_ptr<rdma::MemoryRegion>> registerMemory(void* addr, size_t len, uint32_t access) {
    return err(NtStatus::kNotSupported, "no RDMA on this transport");
  }
  // The transport's lines of SmbClient::statusText().
  virtual std::string statusText() const = 0;
};

// Connects over TCP to o.host:o.port (Direct TCP framing), with o.timeout_ms for the connect and
// as the socket's send and receive timeouts.
Result<std::unique_ptr<Transport>> connectTcp(const ConnectOptions& o);
// Connects by SMB Direct: the provider asked for, or in auto mode rdma-core when it has a device
// with a route to the server, the software provider otherwise; port 5445 then 445 unless a port
// was given (as cifs.ko).
Result<std::unique_ptr<Transport>> connectSmbDirect(const ConnectOptions& o);

}  // namespace sd::client
