// MS-SRVS stub codecs. Embedded pointers follow C706 14.3.12: a structure's fixed part carries
// referent ids, and the pointees (our strings) follow after the whole array/structure, in order.
#include "rpc/srvsvc.h"

#include <algorithm>

#include "rpc/ndr.h"

namespace sd::rpc {

namespace {

// Longest string we accept from a peer in a srvsvc stub (share names are <= 80, comments <= 256,
// paths <= MAX_PATH on Windows; this is generous).
constexpr size_t kMaxStringChars = 4096;

bool contains(std::initializer_list<uint32_t> set, uint32_t v) {
  return std::find(set.begin(), set.end(), v) != set.end();
}

// MS-SRVS 2.2.3.6 SHARE_INFO union: the levels whose arm is a pointer (the rest take [default]).
bool shareInfoArmIsPointer(uint32_t level) {
  return contains({0, 1, 2, 501, 502, 503, 1004, 1005, 1006, 1501}, level);
}

// MS-SRVS 2.2.3.7 SERVER_INFO union arms.
bool serverInfoArmIsPointer(uint32_t level) {
  return contains({100,  101,  102,  103,  502,  503,  599,  1005, 1107, 1010, 1016, 1017, 1018,
                   1501, 1502, 1503, 1506, 1510, 1511, 1512, 1513, 1514, 1515, 1516, 1518, 1523,
                   1528, 1529, 1530, 1533, 1534, 1535, 1536, 1538, 1539, 1540, 1541, 1542, 1543,
                   1544, 1545, 1546, 1547, 1548, 1549, 1550, 1552, 1553, 1554, 1555, 1556},
                  level);
}

// Smallest encoding of a SHARE_INFO_x fixed part, for bounding array counts.
size_t shareFixedSize(uint32_t level) {
  switch (level) {
    case 0:
      return 4;
    case 1:
      return 12;
    case 2:
      return 32;
    case 501:
      return 16;
    default:
      return 4;  // 1005
  }
}

// MS-SRVS 2.2.4.22-2.2.4.26, 2.2.4.29: fixed part (pointers always non-NULL: Windows sends empty
// strings rather than NULL), then the deferred strings.
void writeShareFixed(NdrWriter& w, const ShareInfo& s, uint32_t level) {
  if (level == 1005) {
    w.u32(s.flags);
    return;
  }
  w.pointer(true);  // netname
  if (level == 0) return;
  w.u32(s.type);
  w.pointer(true);  // remark
  if (level == 501) w.u32(s.flags);
  if (level != 2) return;
  w.u32(s.permissions);
  w.u32(s.max_uses);
  w.u32(s.current_uses);
  w.pointer(true);   // path
  w.pointer(false);  // passwd: never disclosed
}

void writeShareDeferred(NdrWriter& w, const ShareInfo& s, uint32_t level) {
  if (level == 1005) return;
  w.conformantVaryingString(s.name);
  if (level == 0) return;
  w.conformantVaryingString(s.comment);
  if (level == 2) w.conformantVaryingString(s.path);
}

struct ShareWire {
  ShareInfo info;
  uint32_t netname = 0, remark = 0, path = 0, passwd = 0;  // referent ids
};

Result<ShareWire> readShareFixed(NdrReader& r, uint32_t level) {
  ShareWire s;
  if (level == 1005) {
    s.info.flags = SD_TRY(r.u32());
    return s;
  }
  s.netname = SD_TRY(r.pointer());
  if (level == 0) return s;
  s.info.type = SD_TRY(r.u32());
  s.remark = SD_TRY(r.pointer());
  if (level == 501) s.info.flags = SD_TRY(r.u32());
  if (level != 2) return s;
  s.info.permissions = SD_TRY(r.u32());
  s.info.max_uses = SD_TRY(r.u32());
  s.info.current_uses = SD_TRY(r.u32());
  s.path = SD_TRY(r.pointer());
  s.passwd = SD_TRY(r.pointer());
  return s;
}

Status readShareDeferred(NdrReader& r, ShareWire& s) {
  if (s.netname) s.info.name = SD_TRY(r.conformantVaryingString(kMaxStringChars));
  if (s.remark) s.info.comment = SD_TRY(r.conformantVaryingString(kMaxStringChars));
  if (s.path) s.info.path = SD_TRY(r.conformantVaryingString(kMaxStringChars));
  if (s.passwd) (void)SD_TRY(r.conformantVaryingString(kMaxStringChars));
  return ok();
}

// The pointee of a SHARE_INFO_x_CONTAINER.Buffer: conformant array of fixed parts, then strings.
Result<std::vector<ShareInfo>> readShareArray(NdrReader& r, uint32_t level, uint32_t entries_read) {
  uint32_t count = SD_TRY(r.conformance(shareFixedSize(level)));
  if (count != entries_read) return malformed("share array size_is mismatch");
  std::vector<ShareWire> wire;
  wire.reserve(count);
  for (uint32_t i = 0; i < count; i++) wire.push_back(SD_TRY(readShareFixed(r, level)));
  std::vector<ShareInfo> out;
  out.reserve(count);
  for (auto& s : wire) {
    SD_CHECK(readShareDeferred(r, s));
    out.push_back(std::move(s.info));
  }
  return out;
}

Result<std::optional<std::string>> readServerName(NdrReader& r) {
  uint32_t ref = SD_TRY(r.pointer());
  if (ref == 0) return std::optional<std::string>();
  return std::optional<std::string>(SD_TRY(r.conformantVaryingString(kMaxStringChars)));
}

void writeServerName(NdrWriter& w, const std::optional<std::string>& name) {
  if (w.pointer(name.has_value())) w.conformantVaryingString(*name);
}

}  // namespace

SyntaxId srvsvcSyntax() { return {Uuid::of("4b324fc8-1670-01d3-1278-5a47bf6ee188"), 3, 0}; }

bool isSupportedShareEnumLevel(uint32_t level) { return level <= 2; }
bool isSupportedShareGetInfoLevel(uint32_t level) { return contains({0, 1, 2, 501, 1005}, level); }
bool isSupportedServerGetInfoLevel(uint32_t level) { return level == 100 || level == 101; }

// --- NetrShareEnum (MS-SRVS 3.1.4.8) ---

Result<NetrShareEnumRequest> decodeNetrShareEnumRequest(ByteView stub) {
  NdrReader r(stub);
  NetrShareEnumRequest q;
  q.server_name = SD_TRY(readServerName(r));
  q.level = SD_TRY(r.u32());
  uint32_t tag = SD_TRY(r.u32());
  if (tag != q.level) return malformed("SHARE_ENUM_UNION tag != Level");
  // Every SHARE_ENUM_UNION arm is a pointer to {EntriesRead, Buffer}.
  if (SD_TRY(r.pointer()) != 0) {
    uint32_t entries_read = SD_TRY(r.u32());
    if (SD_TRY(r.pointer()) != 0) {
      if (!isSupportedShareEnumLevel(q.level)) return q;  // enough to answer WERR_INVALID_LEVEL
      (void)SD_TRY(readShareArray(r, q.level, entries_read));
    }
  }
  q.prefered_maximum_length = SD_TRY(r.u32());
  if (SD_TRY(r.pointer()) != 0) q.resume_handle = SD_TRY(r.u32());
  return q;
}

Bytes encodeNetrShareEnumRequest(const NetrShareEnumRequest& q) {
  NdrWriter w;
  writeServerName(w, q.server_name);
  w.u32(q.level);
  w.u32(q.level);
  w.pointer(true);
  w.u32(0);          // EntriesRead
  w.pointer(false);  // Buffer
  w.u32(q.prefered_maximum_length);
  if (w.pointer(q.resume_handle.has_value())) w.u32(*q.resume_handle);
  return w.take();
}

Bytes encodeNetrShareEnumResponse(const NetrShareEnumResponse& p) {
  NdrWriter w;
  w.u32(p.level);
  w.u32(p.level);
  if (w.pointer(isSupportedShareEnumLevel(p.level) && !p.null_container)) {
    uint32_t n = uint32_t(p.shares.size());
    w.u32(n);
    if (w.pointer(n > 0)) {
      w.conformance(n);
      for (const auto& s : p.shares) writeShareFixed(w, s, p.level);
      for (const auto& s : p.shares) writeShareDeferred(w, s, p.level);
    }
  }
  w.u32(p.total_entries);
  if (w.pointer(p.resume_handle.has_value())) w.u32(*p.resume_handle);
  w.u32(p.status);
  return w.take();
}

Result<NetrShareEnumResponse> decodeNetrShareEnumResponse(ByteView stub) {
  NdrReader r(stub);
  NetrShareEnumResponse p;
  p.level = SD_TRY(r.u32());
  uint32_t tag = SD_TRY(r.u32());
  if (tag != p.level) return malformed("SHARE_ENUM_UNION tag != Level");
  if (SD_TRY(r.pointer()) != 0) {
    uint32_t entries_read = SD_TRY(r.u32());
    if (SD_TRY(r.pointer()) != 0) {
      if (!isSupportedShareEnumLevel(p.level)) return malformed("share enum level not decodable");
      p.shares = SD_TRY(readShareArray(r, p.level, entries_read));
    }
  } else {
    p.null_container = true;
  }
  p.total_entries = SD_TRY(r.u32());
  if (SD_TRY(r.pointer()) != 0) p.resume_handle = SD_TRY(r.u32());
  p.status = SD_TRY(r.u32());
  return p;
}

// --- NetrShareGetInfo (MS-SRVS 3.1.4.10) ---

Result<NetrShareGetInfoRequest> decodeNetrShareGetInfoRequest(ByteView stub) {
  NdrReader r(stub);
  NetrShareGetInfoRequest q;
  q.server_name = SD_TRY(readServerName(r));
  q.net_name = SD_TRY(r.conformantVaryingString(kMaxStringChars));  // [in, string] ref: no id
  q.level = SD_TRY(r.u32());
  return q;
}

Bytes encodeNetrShareGetInfoRequest(const NetrShareGetInfoRequest& q) {
  NdrWriter w;
  writeServerName(w, q.server_name);
  w.conformantVaryingString(q.net_name);
  w.u32(q.level);
  return w.take();
}

Bytes encodeNetrShareGetInfoResponse(const NetrShareGetInfoResponse& p) {
  NdrWriter w;
  w.u32(p.level);  // union discriminant of the [out] LPSHARE_INFO
  if (shareInfoArmIsPointer(p.level)) {
    bool present = p.info.has_value() && isSupportedShareGetInfoLevel(p.level);
    if (w.pointer(present)) {
      writeShareFixed(w, *p.info, p.level);
      writeShareDeferred(w, *p.info, p.level);
    }
  }
  w.u32(p.status);
  return w.take();
}

Result<NetrShareGetInfoResponse> decodeNetrShareGetInfoResponse(ByteView stub) {
  NdrReader r(stub);
  NetrShareGetInfoResponse p;
  p.level = SD_TRY(r.u32());
  if (shareInfoArmIsPointer(p.level) && SD_TRY(r.pointer()) != 0) {
    if (!isSupportedShareGetInfoLevel(p.level)) return malformed("share info level not decodable");
    auto s = SD_TRY(readShareFixed(r, p.level));
    SD_CHECK(readShareDeferred(r, s));
    p.info = std::move(s.info);
  }
  p.status = SD_TRY(r.u32());
  return p;
}

// --- NetrServerGetInfo (MS-SRVS 3.1.4.17) ---

Result<NetrServerGetInfoRequest> decodeNetrServerGetInfoRequest(ByteView stub) {
  NdrReader r(stub);
  NetrServerGetInfoRequest q;
  q.server_name = SD_TRY(readServerName(r));
  q.level = SD_TRY(r.u32());
  return q;
}

Bytes encodeNetrServerGetInfoRequest(const NetrServerGetInfoRequest& q) {
  NdrWriter w;
  writeServerName(w, q.server_name);
  w.u32(q.level);
  return w.take();
}

Bytes encodeNetrServerGetInfoResponse(const NetrServerGetInfoResponse& p) {
  NdrWriter w;
  w.u32(p.level);
  if (serverInfoArmIsPointer(p.level)) {
    bool present = p.info.has_value() && isSupportedServerGetInfoLevel(p.level);
    if (w.pointer(present)) {
      const ServerInfo& s = *p.info;
      w.u32(s.platform_id);
      w.pointer(true);
      if (p.level == 101) {
        w.u32(s.version_major);
        w.u32(s.version_minor);
        w.u32(s.type);
        w.pointer(true);
      }
      w.conformantVaryingString(s.name);
      if (p.level == 101) w.conformantVaryingString(s.comment);
    }
  }
  w.u32(p.status);
  return w.take();
}

Result<NetrServerGetInfoResponse> decodeNetrServerGetInfoResponse(ByteView stub) {
  NdrReader r(stub);
  NetrServerGetInfoResponse p;
  p.level = SD_TRY(r.u32());
  if (serverInfoArmIsPointer(p.level) && SD_TRY(r.pointer()) != 0) {
    if (!isSupportedServerGetInfoLevel(p.level))
      return malformed("server info level not decodable");
    ServerInfo s;
    s.platform_id = SD_TRY(r.u32());
    uint32_t name = SD_TRY(r.pointer());
    uint32_t comment = 0;
    if (p.level == 101) {
      s.version_major = SD_TRY(r.u32());
      s.version_minor = SD_TRY(r.u32());
      s.type = SD_TRY(r.u32());
      comment = SD_TRY(r.pointer());
    }
    if (name) s.name = SD_TRY(r.conformantVaryingString(kMaxStringChars));
    if (comment) s.comment = SD_TRY(r.conformantVaryingString(kMaxStringChars));
    p.info = std::move(s);
  }
  p.status = SD_TRY(r.u32());
  return p;
}

}  // namespace sd::rpc
