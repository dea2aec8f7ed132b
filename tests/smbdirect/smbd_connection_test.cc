// The MS-SMBD core back to back in memory: negotiation and its validation, credits, fragmentation
// and reassembly, keepalive and timeouts, and malformed input.
#include "smbdirect/smbd_connection.h"

#include <gtest/gtest.h>

#include <numeric>

namespace sd::smbdirect {
namespace {

// Windows and Linux send at most 1364 bytes per packet; the tests use that size.
Config win() {
  Config c;
  c.max_send_size = 1364;
  return c;
}

struct Wire {
  explicit Wire(Config cc = win(), Config sc = win()) : c(Role::kClient, cc), s(Role::kServer, sc) {
    c.onReceivesPosted(cc.receive_credit_max);
    s.onReceivesPosted(sc.receive_credit_max);
    c.start(now);
    s.start(now);
  }
  // Moves packets both ways until neither side has anything to send. `repost`: the receiver
  // reposts each receive buffer at once (a shell that keeps up).
  int pump(bool repost = true, int limit = 100000) {
    int moved = 0;
    for (bool progress = true; progress && moved < limit;) {
      progress = false;
      for (int dir = 0; dir < 2; dir++) {
        SmbdConnection& from = dir ? s : c;
        SmbdConnection& to = dir ? c : s;
        while (moved < limit) {
          Bytes buf(std::max<uint32_t>(from.maxSendSize(), 64));
          auto p = from.nextPacket(buf, now);
          if (!p) break;
          buf.resize(p->length);
          last_invalidate[dir] = p->invalidate_rkey;
          sizes[dir].push_back(p->length);
          (void)to.onReceive(buf, now);
          if (repost) to.onReceivesPosted(1);
          moved++;
          progress = true;
        }
      }
    }
    return moved;
  }
  Bytes popAll(SmbdConnection& x) {
    Bytes all;
    while (x.hasMessage()) {
      Bytes m = x.popMessage();
      all.insert(all.end(), m.begin(), m.end());
    }
    return all;
  }
  uint64_t now = 1000;
  SmbdConnection c, s;
  uint32_t last_invalidate[2] = {0, 0};
  std::vector<size_t> sizes[2];
};

Bytes pattern(size_t n, uint8_t seed = 1) {
  Bytes b(n);
  for (size_t i = 0; i < n; i++) b[i] = uint8_t(i * 31 + seed + (i >> 8));
  return b;
}

TEST(SmbdCore, NegotiatesWithDefaults) {
  Wire w;
  w.pump();
  ASSERT_TRUE(w.c.connected());
  ASSERT_TRUE(w.s.connected());
  EXPECT_EQ(w.sizes[0][0], kNegotiateRequestSize);
  EXPECT_EQ(w.sizes[1][0], kNegotiateResponseSize);
  EXPECT_EQ(w.c.maxSendSize(), 1364u);
  // Our own default sends up to 8192, clamped by the peer's MaxReceiveSize.
  Wire big(Config{}, Config{});
  big.pump();
  EXPECT_EQ(big.c.maxSendSize(), 8192u);
  Config small;
  small.max_receive_size = 1364;
  Wire clamp(Config{}, small);
  clamp.pump();
  EXPECT_EQ(clamp.c.maxSendSize(), 1364u);
  EXPECT_EQ(w.c.maxReadWriteSize(), 8u << 20);
  // The server granted every receive it posted; the client grants back in its first message.
  EXPECT_GT(w.c.sendCredits(), 200u);
  EXPECT_GT(w.s.sendCredits(), 200u);
}

TEST(SmbdCore, SmallMessagesBothWays) {
  Wire w;
  w.pump();
  Bytes a = pattern(100), b = pattern(900, 7);
  ByteView pa(a), pb(b);
  ASSERT_TRUE(w.c.queueMessage(std::span<const ByteView>(&pa, 1)));
  ASSERT_TRUE(w.s.queueMessage(std::span<const ByteView>(&pb, 1)));
  w.pump();
  ASSERT_TRUE(w.s.hasMessage());
  EXPECT_EQ(w.s.popMessage(), a);
  ASSERT_TRUE(w.c.hasMessage());
  EXPECT_EQ(w.c.popMessage(), b);
}

TEST(SmbdCore, FragmentsAndReassemblesOneMiB) {
  Wire w;
  w.pump();
  Bytes big = pattern(1 << 20, 3);
  Bytes head = pattern(64, 9);
  ByteView parts[2] = {head, ByteView(big).subspan(64)};
  ASSERT_TRUE(w.c.queueMessage(parts));
  w.pump();
  ASSERT_TRUE(w.s.hasMessage());
  Bytes got = w.s.popMessage();
  ASSERT_EQ(got.size(), big.size());
  EXPECT_TRUE(std::equal(head.begin(), head.end(), got.begin()));
  EXPECT_TRUE(std::equal(big.begin() + 64, big.end(), got.begin() + 64));
  EXPECT_GT(w.s.stats().fragments_received, 700u);  // 1 MiB / 1340 bytes per fragment
  for (size_t n : w.sizes[0]) EXPECT_LE(n, 1364u);
  // The receiver had to return credits while it had nothing to say.
  EXPECT_GT(w.s.stats().credit_only_sent, 0u);
}

// A borrowed message goes out from the caller's buffers; what did not fit in the packets taken
// before keepQueued() is copied then, so the caller may reuse its buffers at once.
TEST(SmbdCore, BorrowedMessageIsKeptWhenItCannotAllGoAtOnce) {
  Wire w;
  w.pump();
  Bytes head = pattern(64, 4), body = pattern(5000, 5);
  Bytes want = head;
  want.insert(want.end(), body.begin(), body.end());
  ByteView parts[3] = {head, ByteView(), body};
  ASSERT_TRUE(w.s.queueBorrowed(parts));
  Bytes buf(w.s.maxSendSize());
  auto p = w.s.nextPacket(buf, w.now);  // the first fragment, straight from the parts
  ASSERT_TRUE(p);
  ASSERT_TRUE(w.c.onReceive(ByteView(buf).first(p->length), w.now));
  w.s.keepQueued();
  std::fill(head.begin(), head.end(), 0xEE);  // the caller reuses its buffers
  std::fill(body.begin(), body.end(), 0xEE);
  // A second borrowed message, sent whole before keepQueued(), then its buffer changes.
  Bytes second = pattern(300, 6);
  Bytes second_want = second;
  ByteView sv(second);
  ASSERT_TRUE(w.s.queueBorrowed(std::span<const ByteView>(&sv, 1)));
  w.pump();
  w.s.keepQueued();
  std::fill(second.begin(), second.end(), 0xEE);
  ASSERT_TRUE(w.c.hasMessage());
  EXPECT_EQ(w.c.popMessage(), want);
  ASSERT_TRUE(w.c.hasMessage());
  EXPECT_EQ(w.c.popMessage(), second_want);
  EXPECT_EQ(w.s.stats().fragments_sent, 4u);  // 5064 bytes in 1340-byte fragments
  EXPECT_EQ(w.s.stats().messages_sent, 2u);
}

TEST(SmbdCore, MessagesNeverInterleave) {
  Wire w;
  w.pump();
  Bytes a = pattern(5000, 1), b = pattern(7000, 2), c = pattern(10, 3);
  for (Bytes* m : {&a, &b, &c}) {
    ByteView v(*m);
    ASSERT_TRUE(w.s.queueMessage(std::span<const ByteView>(&v, 1)));
  }
  w.pump();
  ASSERT_TRUE(w.c.hasMessage());
  EXPECT_EQ(w.c.popMessage(), a);
  EXPECT_EQ(w.c.popMessage(), b);
  EXPECT_EQ(w.c.popMessage(), c);
}

TEST(SmbdCore, InvalidateKeyRidesOnTheLastFragment) {
  Wire w;
  w.pump();
  Bytes m = pattern(4000);
  ByteView v(m);
  ASSERT_TRUE(w.s.queueMessage(std::span<const ByteView>(&v, 1), 0x1234));
  Bytes buf(w.s.maxSendSize());
  std::vector<uint32_t> keys;
  for (int i = 0; i < 10; i++) {
    auto p = w.s.nextPacket(buf, w.now);
    if (!p) break;
    keys.push_back(p->invalidate_rkey);
    ASSERT_TRUE(w.c.onReceive(ByteView(buf).first(p->length), w.now));
  }
  ASSERT_EQ(keys.size(), 3u);
  EXPECT_EQ(keys[0], 0u);
  EXPECT_EQ(keys[1], 0u);
  EXPECT_EQ(keys[2], 0x1234u);
}

TEST(SmbdCore, SenderStallsWithoutCreditsAndKeepsTheLastForAGrant) {
  Config cc = win(), sc = win();
  sc.receive_credit_max = 4;  // the server posts 4 receives and never reposts below
  Wire w(cc, sc);
  w.pump();
  ASSERT_TRUE(w.c.connected());
  EXPECT_EQ(w.c.sendCredits(), 4u);
  Bytes m = pattern(100);
  ByteView v(m);
  for (int i = 0; i < 10; i++) ASSERT_TRUE(w.c.queueMessage(std::span<const ByteView>(&v, 1)));
  Bytes buf(1364);
  int sent = 0;
  for (int i = 0; i < 10; i++) {
    auto p = w.c.nextPacket(buf, w.now);
    if (!p) break;
    ASSERT_TRUE(w.s.onReceive(ByteView(buf).first(p->length), w.now));
    sent++;
  }
  // 4 credits; the client has no new receives to grant after its first message, so it keeps
  // the last credit: it may only be spent on a message that grants credits.
  EXPECT_EQ(sent, 3);
  EXPECT_EQ(w.c.sendCredits(), 1u);
  EXPECT_GT(w.c.stats().credit_stalls, 0u);
  // The server reposts and grants: the rest flows.
  w.s.onReceivesPosted(3);
  w.pump();
  int got = 0;
  while (w.s.hasMessage()) {
    EXPECT_EQ(w.s.popMessage(), m);
    got++;
  }
  EXPECT_EQ(got, 10);
}

TEST(SmbdCore, ServerRefusesUnknownVersionWithNotSupported) {
  SmbdConnection s(Role::kServer, Config{});
  s.onReceivesPosted(10);
  s.start(0);
  NegotiateRequest q;
  q.min_version = 0x0200;
  q.max_version = 0x0200;
  q.credits_requested = 10;
  q.preferred_send_size = 1364;
  q.max_receive_size = 1364;
  q.max_fragmented_size = 1 << 20;
  ByteWriter wr;
  encodeNegotiateRequest(q, wr);
  ASSERT_TRUE(s.onReceive(wr.buf(), 0));
  Bytes buf(64);
  auto p = s.nextPacket(buf, 0);
  ASSERT_TRUE(p);
  auto r = decodeNegotiateResponse(ByteView(buf).first(p->length));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, toWire(NtStatus::kNotSupported));
  EXPECT_EQ(s.state(), SmbdConnection::State::kFailed);
}

TEST(SmbdCore, ServerDropsInvalidNegotiateRequests) {
  auto attempt = [](auto mutate) {
    SmbdConnection s(Role::kServer, Config{});
    s.onReceivesPosted(10);
    NegotiateRequest q;
    q.credits_requested = 10;
    q.preferred_send_size = 1364;
    q.max_receive_size = 1364;
    q.max_fragmented_size = 1 << 20;
    mutate(q);
    ByteWriter wr;
    encodeNegotiateRequest(q, wr);
    (void)s.onReceive(wr.buf(), 0);
    return s.state();
  };
  EXPECT_EQ(attempt([](NegotiateRequest& q) { q.credits_requested = 0; }), SmbdConnection::State::kFailed);
  EXPECT_EQ(attempt([](NegotiateRequest& q) { q.max_receive_size = 127; }), SmbdConnection::State::kFailed);
  EXPECT_EQ(attempt([](NegotiateRequest& q) { q.max_fragmented_size = 131071; }), SmbdConnection::State::kFailed);
  EXPECT_EQ(attempt([](NegotiateRequest&) {}), SmbdConnection::State::kNegotiating);  // answer pending
  SmbdConnection s(Role::kServer, Config{});
  s.onReceivesPosted(1);
  EXPECT_FALSE(s.onReceive(Bytes(19), 0));  // short
  EXPECT_EQ(s.state(), SmbdConnection::State::kFailed);
}

TEST(SmbdCore, ClientChecksTheResponse) {
  auto attempt = [](auto mutate) {
    SmbdConnection c(Role::kClient, Config{});
    c.onReceivesPosted(10);
    Bytes buf(64);
    EXPECT_TRUE(c.nextPacket(buf, 0));
    NegotiateResponse p;
    p.credits_requested = 255;
    p.credits_granted = 255;
    p.max_read_write_size = 1 << 20;
    p.preferred_send_size = 1364;
    p.max_receive_size = 1364;
    p.max_fragmented_size = 1 << 20;
    mutate(p);
    ByteWriter wr;
    encodeNegotiateResponse(p, wr);
    (void)c.onReceive(wr.buf(), 0);
    return c.state();
  };
  EXPECT_EQ(attempt([](NegotiateResponse&) {}), SmbdConnection::State::kConnected);
  EXPECT_EQ(attempt([](NegotiateResponse& p) { p.credits_granted = 0; }), SmbdConnection::State::kFailed);
  EXPECT_EQ(attempt([](NegotiateResponse& p) { p.negotiated_version = 0x0101; }), SmbdConnection::State::kFailed);
  EXPECT_EQ(attempt([](NegotiateResponse& p) { p.status = 0xC0000001; }), SmbdConnection::State::kFailed);
  EXPECT_EQ(attempt([](NegotiateResponse& p) { p.preferred_send_size = 9000; }), SmbdConnection::State::kFailed);
  EXPECT_EQ(attempt([](NegotiateResponse& p) { p.max_receive_size = 100; }), SmbdConnection::State::kFailed);
}

Bytes dataPacket(uint16_t granted, uint32_t remaining, ByteView payload, uint32_t offset = 24) {
  Bytes b(offset + payload.size());
  DataHeader h;
  h.credits_requested = 10;
  h.credits_granted = granted;
  h.remaining_data_length = remaining;
  h.data_offset = offset;
  h.data_length = uint32_t(payload.size());
  encodeDataHeader(h, b.data());
  if (offset != 24) store32(b.data() + 12, offset);
  std::copy(payload.begin(), payload.end(), b.begin() + offset);
  return b;
}

TEST(SmbdCore, MalformedDataMessagesFailTheConnection) {
  auto connected = [] {
    auto w = std::make_unique<Wire>();
    w->pump();
    return w;
  };
  Bytes pay = pattern(100);
  {
    auto w = connected();  // DataOffset not 8-aligned
    EXPECT_FALSE(w->s.onReceive(dataPacket(0, 0, pay, 20 + 2), w->now));
  }
  {
    auto w = connected();  // DataLength past the end
    Bytes p = dataPacket(0, 0, pay);
    p.resize(p.size() - 1);
    EXPECT_FALSE(w->s.onReceive(p, w->now));
  }
  {
    auto w = connected();  // a message larger than MaxFragmentedSize
    EXPECT_FALSE(w->s.onReceive(dataPacket(0, 2u << 20, pay), w->now));
    EXPECT_FALSE(w->s.hasMessage());
  }
  {
    auto w = connected();  // fragment lengths that do not add up: nothing delivered
    EXPECT_TRUE(w->s.onReceive(dataPacket(0, 200, pay), w->now));
    EXPECT_FALSE(w->s.onReceive(dataPacket(0, 0, pay), w->now));
    EXPECT_FALSE(w->s.hasMessage());
    EXPECT_EQ(w->s.state(), SmbdConnection::State::kFailed);
  }
  {
    Config sc = win();
    sc.receive_credit_max = 2;
    Wire w(win(), sc);
    w.pump();
    // The client holds 2 credits; a third packet without a grant is a protocol violation.
    EXPECT_TRUE(w.s.onReceive(dataPacket(0, 0, pay), w.now));
    EXPECT_TRUE(w.s.onReceive(dataPacket(0, 0, pay), w.now));
    EXPECT_FALSE(w.s.onReceive(dataPacket(0, 0, pay), w.now));
  }
}

TEST(SmbdCore, QueueRefusesMessagesThePeerCannotTake) {
  Wire w;
  w.pump();
  Bytes big((1 << 20) + 1);
  ByteView v(big);
  EXPECT_FALSE(w.c.queueMessage(std::span<const ByteView>(&v, 1)));
  EXPECT_TRUE(w.c.connected());
}

TEST(SmbdCore, KeepaliveAsksForAResponseAndTimesOut) {
  Config cfg = win();
  cfg.keepalive_interval_ms = 1000;
  cfg.keepalive_timeout_ms = 500;
  Wire w(cfg, cfg);
  w.pump();
  w.now += 1001;
  w.c.onTimer(w.now);
  Bytes buf(1364);
  auto p = w.c.nextPacket(buf, w.now);
  ASSERT_TRUE(p);
  ByteView pay;
  auto h = decodeDataMessage(ByteView(buf).first(p->length), &pay);
  ASSERT_TRUE(h);
  EXPECT_TRUE(h->flags & kFlagResponseRequested);
  ASSERT_TRUE(w.s.onReceive(ByteView(buf).first(p->length), w.now));
  w.s.onReceivesPosted(1);
  // The server answers at once, even with nothing to say.
  auto r = w.s.nextPacket(buf, w.now);
  ASSERT_TRUE(r);
  ASSERT_TRUE(w.c.onReceive(ByteView(buf).first(r->length), w.now));
  w.c.onReceivesPosted(1);
  w.now += 600;
  w.c.onTimer(w.now);
  EXPECT_TRUE(w.c.connected());
  // A peer that stays silent after a keepalive is declared dead.
  w.now += 1001;
  w.c.onTimer(w.now);
  ASSERT_TRUE(w.c.nextPacket(buf, w.now));
  w.now += 501;
  w.c.onTimer(w.now);
  EXPECT_EQ(w.c.state(), SmbdConnection::State::kFailed);
  EXPECT_EQ(w.c.failStatus(), NtStatus::kIoTimeout);
}

TEST(SmbdCore, NegotiateTimesOut) {
  Config cfg;
  cfg.negotiate_timeout_ms = 100;
  SmbdConnection s(Role::kServer, cfg);
  s.start(0);
  EXPECT_EQ(s.nextDeadline(), 100u);
  s.onTimer(99);
  EXPECT_EQ(s.state(), SmbdConnection::State::kNegotiating);
  s.onTimer(100);
  EXPECT_EQ(s.state(), SmbdConnection::State::kFailed);
}

}  // namespace
}  // namespace sd::smbdirect
