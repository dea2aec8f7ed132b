// Fuzz target for the iWARP parser (MPA request/reply, FPDU framing + CRC, DDP/RDMAP headers,
// Read Requests, Terminates) through the sans-I/O IwarpStream, plus the standalone decoders.
// Input: byte 0 selects the mode (0: a responder fed from the MPA request on and accepting it;
// 1: an established stream, CRC off; 2: CRC on; 3: the decoders alone), byte 1 the fragment size,
// the rest is the byte stream from the peer.
#include <cstdint>
#include <cstring>
#include <vector>

#include "rdma/soft/iwarp_stream.h"
#include "rdma/soft/iwarp_wire.h"

using namespace sd;
using namespace sd::rdma;
using namespace sd::rdma::soft;

namespace {

void drain(IwarpStream& s) {
  TxSlice sl[64];
  for (int i = 0; i < 1000 && s.txPending(); i++) {
    size_t n = s.txGather(sl, 64);
    size_t total = 0;
    for (size_t k = 0; k < n; k++) total += sl[k].len;
    s.txConsumed(total);
  }
  (void)s.takeEvents();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  uint8_t mode = data[0] % 4;
  size_t chunk = data[1] ? data[1] : 4096;
  ByteView in(data + 2, size - 2);
  if (mode == 3) {
    (void)decodeMpaFrame(in, false);
    (void)decodeMpaFrame(in, true);
    (void)decodeTerminate(in);
    ByteReader r(in);
    (void)decodeDdpHeader(r);
    ByteReader r2(in);
    (void)decodeReadRequest(r2);
    return 0;
  }
  MemTable mem;
  std::vector<uint8_t> a(8192), b(8192), rq(4096);
  uint32_t sa = mem.addContiguous(1, a.data(), a.size(),
                                  kAccessLocalWrite | kAccessRemoteWrite | kAccessRemoteRead);
  uint32_t sb = mem.addContiguous(1, b.data(), b.size(), kAccessLocalWrite);
  uint32_t sr = mem.addContiguous(1, rq.data(), rq.size(), kAccessLocalWrite);
  (void)sa;
  (void)sb;
  StreamConfig cfg;
  cfg.initiator = false;
  cfg.crc = mode == 2;
  IwarpStream s(&mem, cfg);
  QpBinding qb;
  qb.pd = 1;
  qb.qp_num = 1;
  qb.caps.max_recv_wr = 16;
  qb.caps.max_send_wr = 16;
  qb.caps.max_recv_sge = 4;
  s.bindQp(qb);
  std::vector<uint8_t> scratch(4096);
  auto feed = [&](ByteView bytes) {
    for (size_t off = 0; off < bytes.size();) {
      size_t k = std::min(chunk, bytes.size() - off);
      // Alternate between the provider shell's planned reads and plain staged bytes.
      if (off & 1) {
        RxPiece plan[8];
        size_t cnt = s.rxPlan(scratch, plan, 8), got = 0;
        for (size_t i = 0; i < cnt && got < k; i++) {
          size_t c = std::min(plan[i].len, k - got);
          std::memcpy(plan[i].data, bytes.data() + off + got, c);
          got += c;
        }
        s.rxPlanDone(plan, cnt, got);
        k = got;
      } else {
        s.rxBytes(bytes.subspan(off, k));
      }
      off += k;
      drain(s);
    }
  };
  for (int i = 0; i < 4; i++) {
    Sge sg{uint64_t(reinterpret_cast<uintptr_t>(rq.data() + i * 1024)), 1024, sr};
    RecvWr w;
    w.wr_id = uint64_t(i);
    w.sg_list = std::span<const Sge>(&sg, 1);
    (void)s.postRecv(w);
  }
  if (mode == 0) {
    size_t off = 0;
    // Feed until the request is complete, then accept (held bytes are processed by accept).
    while (off < in.size() && s.state() == IwarpStream::State::kAwaitRequest) {
      size_t k = std::min(chunk, in.size() - off);
      s.rxBytes(in.subspan(off, k));
      off += k;
    }
    if (s.state() == IwarpStream::State::kRequestReceived) (void)s.accept({});
    drain(s);
    feed(in.subspan(off));
    return 0;
  }
  // Modes 1-2: skip the handshake with a canned request.
  MpaFrame req;
  req.crc = cfg.crc;
  ByteWriter w;
  encodeMpaFrame(req, w);
  s.rxBytes(w.buf());
  (void)s.accept({});
  drain(s);
  feed(in);
  return 0;
}
