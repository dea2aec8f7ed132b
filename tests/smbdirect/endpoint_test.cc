// Endpoint + Listener over the soft iWARP provider on loopback: negotiation, messages of every
// size, RDMA write/read through buffer descriptors, Send with Invalidate, and fault cases (a
// descriptor outside the registered region, the peer vanishing).
#include "smbdirect/endpoint.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <optional>
#include <thread>

#include "smbdirect/listener.h"

namespace sd::smbdirect {
namespace {

Bytes pattern(size_t n, uint8_t seed = 1) {
  Bytes b(n);
  for (size_t i = 0; i < n; i++) b[i] = uint8_t(i * 131 + seed + (i >> 10));
  return b;
}

struct Loop {
  Loop() {
    provider = rdma::findProvider("soft");
    listener = std::make_unique<Listener>(provider, EndpointOptions{}, [this](std::shared_ptr<Endpoint> e) {
      std::lock_guard<std::mutex> lk(mu);
      accepted.push_back(std::move(e));
      cv.notify_all();
    });
    EXPECT_TRUE(listener->listen("127.0.0.1", 0));
    listener->start();
    auto c = Endpoint::connect(provider, "127.0.0.1", listener->port(), EndpointOptions{});
    EXPECT_TRUE(c) << (c ? "" : c.error().what);
    if (c) client = *c;
    std::unique_lock<std::mutex> lk(mu);
    cv.wait_for(lk, std::chrono::seconds(10), [&] { return !accepted.empty(); });
    if (!accepted.empty()) server = accepted[0];
  }
  ~Loop() {
    if (client) client->close();
    if (server) server->close();
    listener->stop();
  }
  rdma::Provider* provider;
  std::unique_ptr<Listener> listener;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::shared_ptr<Endpoint>> accepted;
  std::shared_ptr<Endpoint> client, server;
};

TEST(SmbdEndpoint, ConnectsAndExchangesMessagesOfEverySize) {
  Loop l;
  ASSERT_TRUE(l.client && l.server);
  ASSERT_TRUE(l.server->waitConnected(5000));
  for (size_t n : {1ul, 100ul, 1340ul, 1341ul, 8168ul, 8169ul, 65536ul, 1000000ul, 1ul << 20}) {
    Bytes m = pattern(n, uint8_t(n));
    ASSERT_TRUE(l.client->send(m));
    auto got = l.server->receive(10000);
    ASSERT_TRUE(got) << n;
    EXPECT_EQ(*got, m) << n;
    ASSERT_TRUE(l.server->send(m));
    auto back = l.client->receive(10000);
    ASSERT_TRUE(back) << n;
    EXPECT_EQ(*back, m) << n;
  }
  auto st = l.client->status();
  EXPECT_EQ(st.provider, "soft");
  EXPECT_EQ(st.state, "connected");
  EXPECT_GT(st.stats.fragments_sent, 250u);  // 1 MiB messages in 8168-byte fragments
}

TEST(SmbdEndpoint, ManyMessagesInFlightBothWays) {
  Loop l;
  ASSERT_TRUE(l.client && l.server);
  constexpr int kN = 2000;
  std::thread t([&] {
    for (int i = 0; i < kN; i++) {
      auto m = l.server->receive(10000);
      if (!m) return;
      (void)l.server->send(*m);
    }
  });
  for (int i = 0; i < kN; i++) ASSERT_TRUE(l.client->send(pattern(100 + i % 3000, uint8_t(i))));
  for (int i = 0; i < kN; i++) {
    auto m = l.client->receive(10000);
    ASSERT_TRUE(m) << i;
    ASSERT_EQ(*m, pattern(100 + i % 3000, uint8_t(i))) << i;
  }
  t.join();
}

TEST(SmbdEndpoint, RdmaWriteAndReadThroughDescriptors) {
  Loop l;
  ASSERT_TRUE(l.client && l.server);
  ASSERT_TRUE(l.server->waitConnected(5000));
  // The client exposes two buffers (as a READ's channel info would); the server writes into them.
  Bytes sink(3 << 20, 0);
  auto mr = l.client->registerMemory(sink.data(), sink.size(), rdma::kAccessLocalWrite | rdma::kAccessRemoteWrite |
                                                                  rdma::kAccessRemoteRead);
  ASSERT_TRUE(mr);
  std::vector<smbdirect::BufferDescriptorV1> d = {
      {uint64_t(uintptr_t(sink.data())), (*mr)->rkey(), 1u << 20},
      {uint64_t(uintptr_t(sink.data() + (1 << 20))), (*mr)->rkey(), 2u << 20}};
  Bytes local(3 << 20);
  auto lmr = l.server->registerMemory(local.data(), local.size(), rdma::kAccessLocalWrite);
  ASSERT_TRUE(lmr);
  uint32_t lkey = (*lmr)->lkey();
  auto buf = std::optional<std::span<uint8_t>>(std::span<uint8_t>(local));
  Bytes src = pattern(3 << 20, 5);
  std::copy(src.begin(), src.end(), buf->begin());
  ASSERT_TRUE(l.server->rdmaWrite(*buf, lkey, d));
  // iWARP completes a Write once handed to the transport; placement at the peer is ordered
  // before a later Send, which is how SMB2 uses it (the READ response follows the data).
  ASSERT_TRUE(l.server->send(Bytes(8, 7)));
  ASSERT_TRUE(l.client->receive(10000));
  EXPECT_EQ(sink, src);
  // And reads them back (as a WRITE's channel info would).
  std::fill(buf->begin(), buf->end(), 0);
  Bytes src2 = pattern(3 << 20, 9);
  sink = src2;
  ASSERT_TRUE(l.server->rdmaRead(*buf, lkey, d));
  EXPECT_TRUE(std::equal(buf->begin(), buf->end(), src2.begin()));
  auto st = l.server->status();
  EXPECT_EQ(st.rdma_writes, 1u);
  EXPECT_EQ(st.rdma_reads, 1u);
  EXPECT_EQ(st.rdma_read_bytes, 3u << 20);
}

// Endpoint::Batch holds what its thread posts until it ends; a wait inside it (an RDMA Read) posts
// the held work first, and so does another thread's send, which keeps the order of messages.
TEST(SmbdEndpoint, BatchHoldsPostsUntilItEndsOrSomethingWaits) {
  Loop l;
  ASSERT_TRUE(l.client && l.server);
  ASSERT_TRUE(l.server->waitConnected(5000));
  // A round trip first: the server's first send credits arrive with the client's first message;
  // a message queued without credits would be posted later by the worker thread, not held.
  ASSERT_TRUE(l.client->send(Bytes(1, 0)));
  ASSERT_TRUE(l.server->receive(10000));
  ASSERT_TRUE(l.server->send(Bytes(1, 0)));
  ASSERT_TRUE(l.client->receive(10000));
  {
    Endpoint::Batch b(*l.server);
    ASSERT_TRUE(l.server->send(Bytes(100, 1)));
    ASSERT_TRUE(l.server->send(pattern(20000, 2)));  // fragmented: several held sends
    auto early = l.client->receive(300);
    EXPECT_FALSE(early);  // still held
    EXPECT_EQ(early.status(), NtStatus::kIoTimeout);
  }
  auto m1 = l.client->receive(10000);
  auto m2 = l.client->receive(10000);
  ASSERT_TRUE(m1 && m2);
  EXPECT_EQ(*m1, Bytes(100, 1));
  EXPECT_EQ(*m2, pattern(20000, 2));

  // A wait inside a batch: the held message and the RDMA Read go out; nothing deadlocks.
  Bytes remote = pattern(1 << 20, 3);
  auto rmr = l.client->registerMemory(remote.data(), remote.size(), rdma::kAccessLocalWrite | rdma::kAccessRemoteRead);
  ASSERT_TRUE(rmr);
  std::vector<smbdirect::BufferDescriptorV1> d = {{uint64_t(uintptr_t(remote.data())), (*rmr)->rkey(), 1u << 20}};
  Bytes local(1 << 20);
  auto lmr = l.server->registerMemory(local.data(), local.size(), rdma::kAccessLocalWrite);
  ASSERT_TRUE(lmr);
  {
    Endpoint::Batch b(*l.server);
    ASSERT_TRUE(l.server->send(Bytes(10, 4)));
    ASSERT_TRUE(l.server->rdmaRead(local, (*lmr)->lkey(), d));
    EXPECT_EQ(local, remote);
    auto m = l.client->receive(10000);  // posted before the read waited
    ASSERT_TRUE(m);
    EXPECT_EQ(*m, Bytes(10, 4));
    ASSERT_TRUE(l.server->send(Bytes(10, 5)));  // held again
  }
  auto m5 = l.client->receive(10000);
  ASSERT_TRUE(m5);
  EXPECT_EQ(*m5, Bytes(10, 5));

  // Another thread's send while a batch holds work: the held message goes first.
  {
    Endpoint::Batch b(*l.server);
    ASSERT_TRUE(l.server->send(Bytes(10, 6)));
    std::thread other([&] { EXPECT_TRUE(l.server->send(Bytes(10, 7))); });
    other.join();
    auto a = l.client->receive(10000);
    auto c = l.client->receive(10000);
    ASSERT_TRUE(a && c);
    EXPECT_EQ(*a, Bytes(10, 6));
    EXPECT_EQ(*c, Bytes(10, 7));
  }
}

TEST(SmbdEndpoint, DescriptorOutsideTheRegionFailsCleanly) {
  Loop l;
  ASSERT_TRUE(l.client && l.server);
  ASSERT_TRUE(l.server->waitConnected(5000));
  Bytes sink(4096);
  auto mr = l.client->registerMemory(sink.data(), sink.size(), rdma::kAccessLocalWrite | rdma::kAccessRemoteWrite);
  ASSERT_TRUE(mr);
  std::vector<smbdirect::BufferDescriptorV1> d = {{uint64_t(uintptr_t(sink.data())), (*mr)->rkey(), 8192}};
  Bytes local(8192);
  auto lmr = l.server->registerMemory(local.data(), local.size(), rdma::kAccessLocalWrite);
  ASSERT_TRUE(lmr);
  uint32_t lkey = (*lmr)->lkey();
  auto buf = std::optional<std::span<uint8_t>>(std::span<uint8_t>(local));
  // iWARP completes an RDMA Write locally once it is handed to the transport (as siw does); the
  // peer answers the violation with a Terminate, which takes the connection down on both sides.
  (void)l.server->rdmaWrite(*buf, lkey, d);
  auto r = l.client->receive(10000);
  EXPECT_FALSE(r);
  for (int i = 0; i < 100 && l.server->connected(); i++) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(l.server->connected());
  EXPECT_FALSE(l.server->send(Bytes(10, 1)));
  EXPECT_TRUE(std::all_of(sink.begin(), sink.end(), [](uint8_t b) { return b == 0; }));
}

TEST(SmbdEndpoint, PeerVanishingEndsReceiveWithAnError) {
  Loop l;
  ASSERT_TRUE(l.client && l.server);
  ASSERT_TRUE(l.server->waitConnected(5000));
  l.server->close();
  auto r = l.client->receive(20000);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.status(), NtStatus::kConnectionDisconnected);
  EXPECT_FALSE(l.client->send(Bytes(10, 1)));
}

TEST(SmbdEndpoint, ConnectingToNothingIsRefused) {
  auto c = Endpoint::connect(rdma::findProvider("soft"), "127.0.0.1", 1, EndpointOptions{});
  ASSERT_FALSE(c);
  EXPECT_EQ(c.status(), NtStatus::kConnectionRefused);
}

}  // namespace
}  // namespace sd::smbdirect
