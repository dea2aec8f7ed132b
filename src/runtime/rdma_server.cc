#include "base/thread_name.h"
#include "runtime/rdma_server.h"

#include "base/log.h"
#include "base/page_buffer.h"
#include "smb2/header.h"
#include "smb2/read.h"
#include "smb2/rdma_transform.h"
#include "smb2/write.h"
#include "smb2/constants.h"

#include <array>
#include <deque>

namespace sd::runtime {

// The connection core's transport on SMB Direct. Registered buffers form a small ring so that
// transfers overlap the file I/O of the connection thread: an RDMA Write for a READ is posted and
// the response sent without waiting (the buffer is waited for when its turn comes again), and the
// RDMA Reads of the WRITEs queued behind the current request (up to kMaxPrefetch) are started
// before it runs (prefetch).
struct RdmaServer::Conn : server::Transport {
  static constexpr size_t kMaxPrefetch = 4;
  static constexpr size_t kBuffers = kMaxPrefetch + 2;
  struct Buf {
    PageBuffer mem;
    std::shared_ptr<rdma::MemoryRegion> mr;
    uint64_t op = 0;  // outstanding RDMA transfer using this buffer
    uint64_t used = 0;  // when it was last handed out
  };
  struct Prefetch {
    Bytes key;  // descriptor list + length
    size_t buf = 0;
    uint64_t op = 0;
    size_t len = 0;
  };
  std::shared_ptr<smbdirect::Endpoint> ep;
  server::TransportInfo ti;
  std::array<Buf, kBuffers> bufs;
  size_t next = 0, current = 0;
  uint64_t uses = 0;
  std::deque<Prefetch> prefetched;

  ~Conn() override {
    // Nothing may still target the buffers once they are gone.
    for (auto& b : bufs)
      if (b.op) (void)ep->rdmaWait(b.op);
    for (auto& p : prefetched) (void)ep->rdmaWait(p.op);
  }
  static Bytes key(std::span<const smbdirect::BufferDescriptorV1> d, size_t n) {
    ByteWriter w;
    w.u64(n);
    smbdirect::encodeBufferDescriptors(d, w);
    return w.take();
  }
  bool heldByPrefetch(size_t i) const {
    for (const auto& p : prefetched)
      if (p.buf == i) return true;
    return false;
  }
  // A free ring buffer of at least n bytes: the most recently used one whose transfer is done
  // (its lines are likely still in cache), else the next in turn (waiting for its transfer).
  Result<size_t> acquire(size_t n) {
    size_t best = kBuffers;
    for (size_t i = 0; i < kBuffers; i++) {
      if (heldByPrefetch(i) || (bufs[i].op && !ep->rdmaDone(bufs[i].op))) continue;
      if (best == kBuffers || bufs[i].used > bufs[best].used) best = i;
    }
    for (size_t tries = 0; tries < kBuffers; tries++) {
      size_t i = best < kBuffers && tries == 0 ? best : next++ % kBuffers;
      if (heldByPrefetch(i)) continue;
      bufs[i].used = ++uses;
      Buf& b = bufs[i];
      if (b.op) {
        uint64_t op = b.op;
        b.op = 0;
        SD_CHECK(ep->rdmaWait(op));
      }
      if (b.mem.size() < n) {
        b.mr.reset();
        b.mem = PageBuffer(std::max<size_t>(n, 1 << 20));
        b.mr = SD_TRY(ep->registerMemory(b.mem.data(), b.mem.size(), rdma::kAccessLocalWrite));
      }
      return i;
    }
    return err(NtStatus::kInsufficientResources, "no free RDMA buffer");
  }

  Status send(std::span<const ByteView> parts) override { return ep->send(parts); }
  Status sendInvalidate(std::span<const ByteView> parts, uint32_t rkey) override {
    return ep->send(parts, rkey);
  }
  void close() override { ep->close(); }
  const server::TransportInfo& info() const override { return ti; }
  Result<std::span<uint8_t>> rdmaBuffer(size_t n) override {
    current = SD_TRY(acquire(n));
    return std::span<uint8_t>(bufs[current].mem.data(), n);
  }
  Status rdmaWrite(ByteView data, std::span<const smbdirect::BufferDescriptorV1> to) override {
    Buf& b = bufs[current];
    b.op = SD_TRY(ep->rdmaWriteAsync(data, b.mr->lkey(), to));
    return ok();
  }
  Result<std::span<uint8_t>> rdmaFetch(std::span<const smbdirect::BufferDescriptorV1> from, size_t n) override {
    Bytes k = key(from, n);
    for (size_t j = 0; j < prefetched.size(); j++) {
      if (prefetched[j].key != k) continue;
      // Read ahead for this very request. Entries before it belong to requests that failed
      // before they needed their data: drop them.
      for (size_t x = 0; x < j; x++) (void)ep->rdmaWait(prefetched[x].op);
      Prefetch p = prefetched[j];
      prefetched.erase(prefetched.begin(), prefetched.begin() + long(j) + 1);
      SD_CHECK(ep->rdmaWait(p.op));
      current = p.buf;
      return std::span<uint8_t>(bufs[p.buf].mem.data(), n);
    }
    auto buf = SD_TRY(rdmaBuffer(n));
    uint64_t op = SD_TRY(ep->rdmaReadAsync(buf, bufs[current].mr->lkey(), from));
    SD_CHECK(ep->rdmaWait(op));
    return buf;
  }
  // Starts the RDMA Read of a queued WRITE's data (an SMB2 WRITE with an RDMA channel, in the
  // clear, or sealed with its payload under the RDMA encryption transform). False when there is
  // no room for another read-ahead: `m` is to be looked at again later.
  bool prefetchFor(ByteView m, uint32_t max_len, server::MessageHandler& handler) {
    if (prefetched.size() >= kMaxPrefetch) return false;
    std::optional<Bytes> plain;
    if (!m.empty() && m[0] == 0xFD && (plain = handler.peekPlaintext(m))) m = *plain;
    if (m.size() < smb2::kHeaderSize + 48 || m[0] != 0xFE) return true;
    auto h = smb2::decodeHeader(m);
    if (!h || h->command != smb2::Command::kWrite || h->next_command) return true;
    auto q = smb2::decodeWriteRequest(m);
    if (!q || q->remaining_bytes == 0 || q->remaining_bytes > max_len) return true;
    uint32_t channel = q->channel;
    ByteView info = q->write_channel_info;
    if (channel == smb2::kChannelRdmaTransform) {
      auto t = smb2::decodeRdmaTransform(info);
      if (!t) return true;
      channel = t->channel;
      info = t->descriptors;
    }
    auto d = smb2::decodeChannelDescriptors(channel, info, q->remaining_bytes);
    if (!d) return true;
    Bytes k = key(*d, q->remaining_bytes);
    for (const auto& p : prefetched)
      if (p.key == k) return true;
    auto i = acquire(q->remaining_bytes);
    if (!i) return true;
    auto op = ep->rdmaReadAsync(std::span<uint8_t>(bufs[*i].mem.data(), q->remaining_bytes), bufs[*i].mr->lkey(), *d);
    if (!op || *op == 0) return true;
    prefetched.push_back(Prefetch{std::move(k), *i, *op, q->remaining_bytes});
    return true;
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
  setThreadName("sd-smbd-conn");
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
  if (!handler) {  // refused (hosts allow / hosts deny)
    ep->close();
    live_--;
    return;
  }
  const uint32_t max_rw = ep->maxReadWriteSize();
  size_t examined = 0;  // queued messages at the front already looked at for read-ahead
  while (!stopping_) {
    auto m = ep->receive(1000);
    if (!m) {
      if (m.status() == NtStatus::kIoTimeout) continue;
      break;
    }
    if (examined) examined--;  // the message just taken was the first of them
    // One post for what this request sends and the read-ahead after it: the response and the
    // RDMA Read Requests for the WRITEs queued behind it leave together (smbdirect::Endpoint::Batch).
    // Read ahead: the data of those WRITEs moves while the next requests run.
    smbdirect::Endpoint::Batch b(*ep);
    handler->onMessage(*m);
    // Each queued message once (a sealed one is decrypted to be looked at).
    Bytes peek;
    while (examined < Conn::kMaxPrefetch && ep->peekMessage(examined, &peek, 1024) &&
           conn->prefetchFor(peek, max_rw, *handler))
      examined++;
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
