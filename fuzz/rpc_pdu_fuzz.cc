// Fuzzes the DCE/RPC layer with arbitrary bytes: the srvsvc pipe fed as one write, then as
// variously split transceives; every PDU and srvsvc stub decoder; and the srvsvc client's reply
// parser. Seeds (fuzz/corpus/rpc_pdu/) are real bind/request streams made with impacket.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "rpc/pipe.h"
#include "rpc/srvsvc_client.h"

namespace {

using namespace sd;
using namespace sd::rpc;

std::unique_ptr<PipeEndpoint> makePipe() {
  return openPipe("srvsvc", [] {
    std::vector<ShareInfo> v = {{"IPC$", kStypeIpcHidden, "IPC Service", "", 0, 0xFFFFFFFF, 0, 0},
                                {"public", 0, "Public", "C:\\p", 0, 0xFFFFFFFF, 0, 0}};
    return std::make_pair(ServerInfo{"SRV", "fuzz"}, v);
  });
}

void drain(PipeEndpoint& p, size_t max) {
  for (int i = 0; i < 100000; i++) {
    auto r = p.read(max);
    if (!r) return;
  }
}

void decoders(ByteView in) {
  (void)decodeHeader(in);
  (void)decodeBind(in);
  (void)decodeBindAck(in);
  (void)decodeBindNak(in);
  (void)decodeResponse(in);
  (void)decodeFault(in);
  ByteView stub = in;
  if (auto q = decodeRequest(in)) stub = q->stub;
  (void)decodeNetrShareEnumRequest(stub);
  (void)decodeNetrShareEnumResponse(stub);
  (void)decodeNetrShareGetInfoRequest(stub);
  (void)decodeNetrShareGetInfoResponse(stub);
  (void)decodeNetrServerGetInfoRequest(stub);
  (void)decodeNetrServerGetInfoResponse(stub);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteView in(data, size);
  {
    auto p = makePipe();
    (void)p->write(in);
    drain(*p, 4280);
  }
  {
    // Split points and read sizes derived from the data itself, so the fuzzer controls them.
    auto p = makePipe();
    size_t pos = 0;
    for (size_t k = 1; pos < size; k++) {
      size_t n = std::min(size - pos, size_t((k * 7 + data[pos]) % 97 + 1));
      size_t max_out = 16 + data[pos] * 8;
      auto r = p->transceive(in.subspan(pos, n), max_out);
      if (r && r->more) drain(*p, max_out);
      if (!r && r.status() == kStatusPipeBusy) drain(*p, 4280);
      pos += n;
    }
  }
  decoders(in);
  {
    SrvsvcClient c("srv");
    (void)c.bindRequest();
    (void)c.onBindAck(in);
    (void)c.shareEnumRequest();
    size_t half = size / 2;
    auto r = c.onShareEnumResponse(in.first(half));
    if (!r && r.status() == NtStatus::kMoreProcessingRequired)
      (void)c.onShareEnumResponse(in.subspan(half));
  }
  return 0;
}
