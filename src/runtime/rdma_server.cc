#include "runtime/rdma_server.h"

#include "base/log.h"

namespace sd::runtime {

// The connection core's transport on SMB Direct.
struct RdmaServer::Conn : server::Transport {
  std::shared_ptr<smbdirect::Endpoint> ep;
  server::TransportInfo ti;
  std::span<uint8_t> buf;  // the last rdmaBuffer()
  uint32_t lkey = 0;

  Status send(std::span<const ByteView> parts) override { return ep->send(parts); }
  Status sendInvalidate(std::span<const ByteView> parts, uint32_t rkey) override {
    return ep->send(parts, rkey);
  }
  void close() override { ep->close(); }
  const server::TransportInfo& info() const override { return ti; }
  Result<std::span<uint8_t>> rdmaBuffer(size_t n) override {
    buf = SD_TRY(ep->scratch(n, &lkey));
    return buf;
  }
  Status rdmaWrite(ByteView data, std::span<const smb2::BufferDescriptorV1> to) override {
    return ep->rdmaWrite(data, lkey, to);
  }
  Status rdmaRead(std::span<uint8_t> into, std::span<const smb2::BufferDescriptorV1> from) override {
    return ep->rdmaRead(into, lkey, from);
  }
};

RdmaServer::RdmaServer(Factory factory) : factory_(std::move(factory)) {}
RdmaServer::~RdmaServer() { stop(); }

Status RdmaServer::listen(rdma::Provider* provider, const std::string& addr, uint16_t port,
                          const smbdirect::EndpointOptions& opts, uint32_t max_connections) {
  max_connections_ = max_connections;
  listener_ = std::make_unique<smbdirect::Listener>(provider, opts, [this](std::shared_ptr<smbdirect::Endpoint> ep) {
    if (stopping_) {
      ep->close();
      return;
    }
    if (max_connections_ && live_.load() >= max_connections_) {
      LOG_WARN("refusing SMB Direct connection from %s: max connections (%u) reached", ep->peer().c_str(),
               max_connections_);
      ep->close();
      return;
    }
    std::lock_guard<std::mutex> lk(mu_);
    std::erase_if(endpoints_, [](const auto& w) { return w.expired(); });
    endpoints_.push_back(ep);
    live_++;
    std::thread([this, ep] { serve(ep); }).detach();  // stop() waits for every serve() to end
  });
  Status st = listener_->listen(addr, port);
  if (!st) {
    LOG_ERROR("cannot listen for SMB Direct on %s port %u (%s provider): %s", addr.empty() ? "*" : addr.c_str(),
              unsigned(port), std::string(provider ? provider->name() : "none").c_str(), st.error().what);
    return st;
  }
  std::string transport = "iWARP";
  if (provider) {
    auto devs = provider->devices();
    if (!devs.empty()) transport = devs[0]->attr().transport + " on " + devs[0]->attr().name;
  }
  LOG_INFO("listening on %s (SMB Direct, %s provider, %s)", listener_->localAddr().c_str(),
           std::string(provider->name()).c_str(), transport.c_str());
  return ok();
}

void RdmaServer::start() {
  if (listener_) listener_->start();
}

void RdmaServer::serve(std::shared_ptr<smbdirect::Endpoint> ep) {
  if (!ep->waitConnected(30000)) {
    LOG_DEBUG("SMB Direct %s: negotiate did not complete", ep->peer().c_str());
    ep->close();
    live_--;
    return;
  }
  auto conn = std::make_shared<Conn>();
  conn->ep = ep;
  conn->ti.kind = "rdma";
  conn->ti.rdma = true;
  conn->ti.peer = ep->peer();
  conn->ti.local = ep->local();
  conn->ti.max_message = ep->status().max_fragmented_size;
  LOG_INFO("SMB Direct connection from %s (%s provider)", ep->peer().c_str(), ep->providerName().c_str());
  auto handler = factory_(conn);
  while (!stopping_) {
    auto m = ep->receive(1000);
    if (!m) {
      if (m.status() == NtStatus::kIoTimeout) continue;
      break;
    }
    handler->onMessage(*m);
  }
  handler->onDisconnect();
  handler.reset();
  ep->close();
  auto st = ep->status();
  LOG_INFO("SMB Direct %s closed: %llu messages in, %llu out, %llu fragments; RDMA reads %llu bytes in %llu, "
           "RDMA writes %llu bytes in %llu",
           ep->peer().c_str(), (unsigned long long)st.stats.messages_received,
           (unsigned long long)st.stats.messages_sent,
           (unsigned long long)(st.stats.fragments_received + st.stats.fragments_sent),
           (unsigned long long)st.rdma_read_bytes, (unsigned long long)st.rdma_reads,
           (unsigned long long)st.rdma_write_bytes, (unsigned long long)st.rdma_writes);
  live_--;
}

void RdmaServer::stop() {
  stopping_ = true;
  if (listener_) listener_->stop();
  {
    std::lock_guard<std::mutex> lk(mu_);
    for (auto& w : endpoints_)
      if (auto e = w.lock()) e->close();
  }
  // Each serve() notices within a second (its receive wakes on close); bounded wait.
  for (int i = 0; i < 300 && live_.load() > 0; i++) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  if (live_.load() > 0) LOG_WARN("SMB Direct: %zu connections still closing", live_.load());
}

}  // namespace sd::runtime
