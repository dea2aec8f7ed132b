// SmbClient's life cycle and status report, and the CLI's view of errors. The rest of the class
// is defined by job: the request multiplexer (request_mux.cc), session setup (session.cc), file
// operations (file_ops.cc), leases and oplocks (leases.cc), transfers (transfers.cc); the
// transports in tcp_transport.cc and rdma_transport.cc (transport.h).
#include "client/smb_client.h"

#include "client/client_internal.h"
#include "client/transport.h"
#include "smb2/header.h"
#include "smbdirect/endpoint.h"

namespace sd::client {

SmbClient::SmbClient() = default;
SmbClient::~SmbClient() {
  // Wake the idle receiver (a shut down socket reads as closed, a closed endpoint as
  // disconnected) before joining it.
  if (transport_) transport_->shutdown();
  stopIdleReceiver();
  transport_.reset();
}

std::shared_ptr<smbdirect::Endpoint> SmbClient::rdmaEndpoint() const {
  return transport_ ? transport_->endpoint() : nullptr;
}

std::string SmbClient::statusText() const {
  std::string o;
  auto add = [&](const char* fmt, auto... a) { internal::appendf(o, fmt, a...); };
  add("Server: %s  Reconnects: %llu\n", info_.server.c_str(), (unsigned long long)reconnects_);
  add("Dialect: 0x%04x  Signing: %s  Encryption: %s", info_.dialect, info_.signing ? "yes" : "no",
      info_.encryption ? "yes" : "no");
  if (info_.encryption) add("  Cipher: 0x%04x", info_.cipher);
  if (info_.encryption && rdmaEndpoint())
    add("  RDMA transform: %s", info_.rdma_transform_encryption ? "encryption" : "none (sealed data inline)");
  add("\nMax read: %u  Max write: %u  SMB credits: %u\n", info_.max_read, info_.max_write,
      credits_.load(std::memory_order_relaxed));
  if (transport_) o += transport_->statusText();
  else o += "Transport: TCP\n";
  if (rdmaEndpoint()) {
    add("  READ by RDMA: %llu (%llu bytes)  WRITE by RDMA: %llu (%llu bytes)\n",
        (unsigned long long)rdma_reads_.load(), (unsigned long long)rdma_read_bytes_.load(),
        (unsigned long long)rdma_writes_.load(), (unsigned long long)rdma_write_bytes_.load());
  }
  add("Leases granted: %llu  breaks received: %llu  acknowledged: %llu\n",
      (unsigned long long)leases_granted_.load(), (unsigned long long)breaks_received_.load(),
      (unsigned long long)breaks_acked_.load());
  add("Commands (sent / failed):\n");
  for (size_t i = 0; i < cmd_sent_.size(); i++) {
    uint64_t n = cmd_sent_[i].load(std::memory_order_relaxed);
    if (!n) continue;
    add("  %-16s %llu / %llu\n", smb2::commandName(uint16_t(i)), (unsigned long long)n,
        (unsigned long long)cmd_failed_[i].load(std::memory_order_relaxed));
  }
  return o;
}

std::string describe(NtStatus s) {
  switch (s) {
    case NtStatus::kLogonFailure: return "logon failure (wrong user name or password)";
    case NtStatus::kBadNetworkName: return "no such share";
    case NtStatus::kAccessDenied: return "access denied";
    case NtStatus::kConnectionRefused: return "connection refused";
    case NtStatus::kIoTimeout: return "timed out";
    case NtStatus::kObjectNameNotFound: return "no such file or directory";
    case NtStatus::kObjectPathNotFound: return "no such directory in the path";
    case NtStatus::kObjectNameCollision: return "already exists";
    case NtStatus::kDirectoryNotEmpty: return "directory not empty";
    case NtStatus::kFileIsADirectory: return "is a directory";
    case NtStatus::kNotADirectory: return "not a directory";
    case NtStatus::kSharingViolation: return "in use (sharing violation)";
    case NtStatus::kDiskFull: return "no space left on the server";
    case NtStatus::kBadNetworkPath: return "cannot resolve the server address";
    case NtStatus::kNotSupported: return "not supported by the server";
    default: return ntStatusName(s);
  }
}

int exitCodeFor(NtStatus s) {
  switch (s) {
    case NtStatus::kSuccess: return 0;
    case NtStatus::kLogonFailure: return 3;
    case NtStatus::kAccessDenied: return 4;
    case NtStatus::kBadNetworkName: return 5;
    case NtStatus::kObjectNameNotFound:
    case NtStatus::kObjectPathNotFound:
    case NtStatus::kNoSuchFile: return 6;
    case NtStatus::kConnectionRefused:
    case NtStatus::kBadNetworkPath:
    case NtStatus::kHostUnreachable:
    case NtStatus::kConnectionReset:
    case NtStatus::kConnectionDisconnected: return 7;
    case NtStatus::kIoTimeout: return 8;
    default: return 1;
  }
}

}  // namespace sd::client
