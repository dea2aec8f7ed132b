// Fuzz target for the MS-SMBD core: the negotiate and data transfer decoders and the connection
// state machine (credits, reassembly, keepalive) fed with arbitrary packets.
// Input: byte 0 selects the role and phase (bit 0: server, bit 1: start connected after a
// well-formed negotiate); then packets as [u16 little-endian length][bytes]. Between packets the
// core is asked for what it would send and given time, as the shell would.
#include <cstdint>
#include <cstring>

#include "smbdirect/smbd_connection.h"
#include "smbdirect/smbd_wire.h"

using namespace sd;
using namespace sd::smbdirect;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  ByteView in(data, size);
  (void)decodeNegotiateRequest(in.subspan(1));
  (void)decodeNegotiateResponse(in.subspan(1));
  ByteView payload;
  (void)decodeDataMessage(in.subspan(1), &payload);

  Config cfg;
  cfg.receive_credit_max = 16;
  cfg.max_fragmented_size = 1 << 18;
  bool server = data[0] & 1;
  SmbdConnection c(server ? Role::kServer : Role::kClient, cfg);
  c.onReceivesPosted(cfg.receive_credit_max);
  uint64_t now = 0;
  c.start(now);
  Bytes out(cfg.max_send_size);
  if (data[0] & 2) {
    // Start connected: answer the handshake the way a correct peer would.
    if (server) {
      NegotiateRequest q;
      q.credits_requested = 8;
      q.preferred_send_size = 1364;
      q.max_receive_size = 1364;
      q.max_fragmented_size = 1 << 20;
      ByteWriter w;
      encodeNegotiateRequest(q, w);
      (void)c.onReceive(w.buf(), now);
      c.onReceivesPosted(1);
      (void)c.nextPacket(out, now);
    } else {
      (void)c.nextPacket(out, now);
      NegotiateResponse p;
      p.credits_requested = 8;
      p.credits_granted = 8;
      p.max_read_write_size = 1 << 20;
      p.preferred_send_size = 1364;
      p.max_receive_size = 1364;
      p.max_fragmented_size = 1 << 20;
      ByteWriter w;
      encodeNegotiateResponse(p, w);
      (void)c.onReceive(w.buf(), now);
      c.onReceivesPosted(1);
    }
  }
  ByteReader r(in.subspan(1));
  for (int i = 0; i < 4096 && r.remaining() >= 2; i++) {
    uint16_t n = *r.u16();
    auto pkt = r.bytes(std::min<size_t>(n, r.remaining()));
    if (!pkt) break;
    (void)c.onReceive(*pkt, now);
    c.onReceivesPosted(1);
    while (c.hasMessage()) (void)c.popMessage();
    uint8_t msg[3000];  // a borrowed message reads it until keepQueued()
    std::memset(msg, 0x5a, sizeof msg);
    bool borrowed = false;
    if (i % 3 == 0) {
      ByteView v(msg, (n * 7) % sizeof msg + 1);
      borrowed = n & 2;
      if (borrowed)
        (void)c.queueBorrowed(std::span<const ByteView>(&v, 1), n & 1 ? n : 0);
      else
        (void)c.queueMessage(std::span<const ByteView>(&v, 1), n & 1 ? n : 0);
    }
    for (int k = 0; k < 64; k++)
      if (!c.nextPacket(out, now)) break;
    c.keepQueued();
    if (borrowed) std::memset(msg, 0xa5, sizeof msg);
    now += n;
    c.onTimer(now);
    if (c.state() == SmbdConnection::State::kFailed) break;
  }
  return 0;
}
