#include "smb2/durable.h"

#include <algorithm>

#include "smb2/constants.h"

namespace sd::smb2 {

namespace {
constexpr size_t kDurableV1Size = 16, kDurableRequestV2Size = 32, kDurableReconnectV2Size = 36,
                 kDurableResponseV1Size = 8, kDurableResponseV2Size = 8;

Result<CreateGuid> readGuid(ByteReader& r) {
  auto b = SD_TRY(r.bytes(16));
  CreateGuid g;
  std::copy(b.begin(), b.end(), g.begin());
  return g;
}

Result<FileId> readId(ByteReader& r) {
  FileId id;
  id.persistent = SD_TRY(r.u64());
  id.volatile_ = SD_TRY(r.u64());
  return id;
}
}  // namespace

Result<DurableContexts> decodeDurableContexts(const std::vector<CreateContext>& contexts) {
  DurableContexts d;
  for (const auto& c : contexts) {
    ByteReader r(c.data);
    if (c.name == kCreateDurableHandleRequest) {
      // 2.2.13.2.3: 16 reserved bytes.
      if (c.data.size() != kDurableV1Size) return malformed("DHnQ length");
      d.request_v1 = true;
    } else if (c.name == kCreateDurableHandleReconnect) {
      if (c.data.size() != kDurableV1Size) return malformed("DHnC length");
      d.reconnect_v1 = SD_TRY(readId(r));
    } else if (c.name == kCreateDurableHandleRequestV2) {
      if (c.data.size() != kDurableRequestV2Size) return malformed("DH2Q length");
      DurableRequestV2 q;
      q.timeout_ms = SD_TRY(r.u32());
      q.flags = SD_TRY(r.u32());
      SD_CHECK(r.skip(8));  // Reserved
      q.create_guid = SD_TRY(readGuid(r));
      d.request_v2 = q;
    } else if (c.name == kCreateDurableHandleReconnectV2) {
      if (c.data.size() != kDurableReconnectV2Size) return malformed("DH2C length");
      DurableReconnectV2 q;
      q.file_id = SD_TRY(readId(r));
      q.create_guid = SD_TRY(readGuid(r));
      q.flags = SD_TRY(r.u32());
      d.reconnect_v2 = q;
    }
  }
  return d;
}

CreateContextOut makeDurableRequestV1() { return {kCreateDurableHandleRequest, Bytes(kDurableV1Size, 0)}; }

CreateContextOut makeDurableRequestV2(const DurableRequestV2& q) {
  ByteWriter w;
  w.u32(q.timeout_ms);
  w.u32(q.flags);
  w.zeros(8);
  w.bytes(q.create_guid);
  return {kCreateDurableHandleRequestV2, w.take()};
}

CreateContextOut makeDurableReconnectV1(const FileId& id) {
  ByteWriter w;
  w.u64(id.persistent);
  w.u64(id.volatile_);
  return {kCreateDurableHandleReconnect, w.take()};
}

CreateContextOut makeDurableReconnectV2(const DurableReconnectV2& q) {
  ByteWriter w;
  w.u64(q.file_id.persistent);
  w.u64(q.file_id.volatile_);
  w.bytes(q.create_guid);
  w.u32(q.flags);
  return {kCreateDurableHandleReconnectV2, w.take()};
}

CreateContextOut makeDurableResponseV1() { return {kCreateDurableHandleRequest, Bytes(kDurableResponseV1Size, 0)}; }

CreateContextOut makeDurableResponseV2(uint32_t timeout_ms, uint32_t flags) {
  ByteWriter w;
  w.u32(timeout_ms);
  w.u32(flags);
  return {kCreateDurableHandleRequestV2, w.take()};
}

Result<DurableResponse> decodeDurableResponse(const std::vector<CreateContext>& contexts) {
  DurableResponse d;
  for (const auto& c : contexts) {
    if (c.name == kCreateDurableHandleRequest) {
      if (c.data.size() != kDurableResponseV1Size) return malformed("DHnQ response length");
      d.v1 = true;
    } else if (c.name == kCreateDurableHandleRequestV2) {
      if (c.data.size() != kDurableResponseV2Size) return malformed("DH2Q response length");
      ByteReader r(c.data);
      d.v2 = true;
      d.timeout_ms = SD_TRY(r.u32());
      d.flags = SD_TRY(r.u32());
    }
  }
  return d;
}

}  // namespace sd::smb2
