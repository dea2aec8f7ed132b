// SMB Direct (MS-SMBD): messages over an smbdirect::Endpoint, which also registers the memory
// that READ and WRITE data move through by RDMA.
#include <algorithm>
#include <vector>

#include "base/log.h"
#include "client/client_internal.h"
#include "client/smb_client.h"
#include "client/transport.h"
#include "rdma/rdma.h"
#include "smbdirect/endpoint.h"

namespace sd::client {

using internal::appendf;

namespace {

class RdmaTransport : public Transport {
 public:
  RdmaTransport(std::shared_ptr<smbdirect::Endpoint> ep, int timeout_ms) : ep_(std::move(ep)), timeout_ms_(timeout_ms) {
    auto st = ep_->status();
    server_ = ep_->peer();
    provider_ = st.provider;
    device_ = st.device;
    rw_max_ = st.max_read_write_size;
    // Inline I/O fits in both directions: a WRITE in the server's MaxFragmentedSize, a READ's
    // response in ours, each with 64 KiB for headers (and a transform header when sealed).
    uint32_t frag = std::min(st.max_fragmented_size, st.own_max_fragmented_size);
    inline_max_ = frag > (128u << 10) ? (frag - (64u << 10)) & ~4095u : 65536;
    LOG_INFO("RDMA transport established with %s (%s provider, %s %s)", server_.c_str(), st.provider.c_str(),
             st.transport.c_str(), st.device.c_str());
  }
  ~RdmaTransport() override { ep_->close(); }

  Status send(ByteView a, ByteView b) override {
    ByteView parts[2] = {a, b};
    return ep_->send(std::span<const ByteView>(parts, b.empty() ? 1 : 2));
  }

  Result<Bytes> receive(int timeout_ms) override {
    auto m = ep_->receive(timeout_ms < 0 ? timeout_ms_ : timeout_ms);
    if (!m) {
      if (m.status() == NtStatus::kIoTimeout) return err(NtStatus::kIoTimeout, "no response from the server");
      return fatal(NtStatus::kConnectionDisconnected, "SMB Direct connection lost");
    }
    return m;
  }

  // No descriptor to poll: a reader waits in receive() (for short times, when it must yield).
  bool pollable() const override { return false; }
  bool waitReadable(int /*timeout_ms*/) override { return true; }

  void shutdown() override { ep_->close(); }

  void describe(ConnectionInfo& info) const override {
    info.transport = "rdma";
    info.server = server_;
    info.rdma_provider = provider_;
    info.rdma_device = device_;
  }

  // RDMA transfers up to MS-SMBD MaxReadWriteSize; inline I/O must fit in the peer's
  // MaxFragmentedSize.
  uint32_t ioLimit(bool rdma, uint32_t negotiated) const override {
    return std::min(negotiated, rdma ? rw_max_ : inline_max_);
  }

  std::shared_ptr<smbdirect::Endpoint> endpoint() const override { return ep_; }

  Result<std::shared_ptr<rdma::MemoryRegion>> registerMemory(void* addr, size_t len, uint32_t access) override {
    return ep_->registerMemory(addr, len, access);
  }

  std::string statusText() const override {
    std::string o;
    auto st = ep_->status();
    appendf(o, "Transport: SMB Direct (%s provider, %s %s), %s -> %s, state %s\n", st.provider.c_str(),
            st.transport.c_str(), st.device.c_str(), st.local.c_str(), st.peer.c_str(), st.state.c_str());
    appendf(o, "  SMBD send credits: %u  receive credits granted to the server: %u  receives posted: %u\n",
            st.send_credits, st.peer_credits, st.receives_posted);
    appendf(o, "  max send: %u  max receive: %u  max fragmented (server): %u  max read/write: %u  IRD/ORD: %u/%u\n",
            st.max_send_size, st.max_receive_size, st.max_fragmented_size, st.max_read_write_size, st.ird, st.ord);
    appendf(o, "  packets sent: %llu received: %llu  messages sent: %llu received: %llu\n",
            (unsigned long long)st.stats.packets_sent, (unsigned long long)st.stats.packets_received,
            (unsigned long long)st.stats.messages_sent, (unsigned long long)st.stats.messages_received);
    appendf(o, "  fragments sent: %llu received: %llu  credit-only: %llu  keepalives: %llu  credit stalls: %llu\n",
            (unsigned long long)st.stats.fragments_sent, (unsigned long long)st.stats.fragments_received,
            (unsigned long long)st.stats.credit_only_sent, (unsigned long long)st.stats.keepalives_sent,
            (unsigned long long)st.stats.credit_stalls);
    return o;
  }

 private:
  std::shared_ptr<smbdirect::Endpoint> ep_;
  int timeout_ms_;  // the connection's (ConnectOptions::timeout_ms)
  std::string server_, provider_, device_;
  uint32_t rw_max_ = 0;      // MS-SMBD MaxReadWriteSize (RDMA transfers)
  uint32_t inline_max_ = 0;  // inline I/O must fit in the peer's MaxFragmentedSize
};

}  // namespace

// SMB Direct: the provider the user asked for, or rdma-core when it has a device, else the
// software iWARP provider; port 5445 then 445 unless a port was given (as cifs.ko).
Result<std::unique_ptr<Transport>> connectSmbDirect(const ConnectOptions& o) {
  // The provider asked for, or in auto mode rdma-core when it has a device with a route to the
  // server, the software provider otherwise.
  std::vector<rdma::Provider*> candidates;
  if (o.rdma_provider == "soft" || o.rdma_provider == "verbs") {
    rdma::Provider* p = rdma::findProvider(o.rdma_provider);
    if (!p) return err(NtStatus::kNotSupported, "RDMA provider not built");
    candidates.push_back(p);
  } else {
    rdma::Provider* verbs = rdma::findProvider("verbs");
    if (verbs && !verbs->devices().empty()) candidates.push_back(verbs);
    candidates.push_back(rdma::findProvider("soft"));
  }
  std::vector<uint16_t> ports = o.port_explicit ? std::vector<uint16_t>{o.port} : std::vector<uint16_t>{5445, 445};
  smbdirect::EndpointOptions eo;
  eo.connect_timeout_ms = o.timeout_ms;
  Error last = err(NtStatus::kConnectionRefused, "SMB Direct connect");
  for (rdma::Provider* p : candidates) {
    for (uint16_t port : ports) {
      auto ep = smbdirect::Endpoint::connect(p, o.host, port, eo);
      if (ep) return std::unique_ptr<Transport>(new RdmaTransport(*ep, o.timeout_ms));
      last = ep.error();
      LOG_DEBUG("SMB Direct to %s port %u (%s provider): %s", o.host.c_str(), unsigned(port),
                std::string(p->name()).c_str(), ep.error().what);
      if (ep.status() != NtStatus::kConnectionRefused) break;
    }
    // No route through this provider's devices: the next one may have it.
    if (last.status != NtStatus::kHostUnreachable && last.status != NtStatus::kNotSupported &&
        last.status != NtStatus::kInvalidDeviceState)
      break;
  }
  return last;
}

}  // namespace sd::client
