// srvsvc (MS-SRVS) stub data: the share and server information the pipe serves, and the NDR
// request/response bodies of NetrShareEnum (opnum 15), NetrShareGetInfo (opnum 16) and
// NetrServerGetInfo (opnum 21), both directions (the server decodes requests and encodes
// responses; the client the reverse). Owned by rpc/; pure functions, any thread.
// Implements MS-SRVS 2.2.4.23-2.2.4.33 (SHARE_INFO_*), 2.2.4.38-2.2.4.40 (SHARE_ENUM_*),
// 2.2.4.17-2.2.4.18 (SERVER_INFO_100/101), 3.1.4.8, 3.1.4.10, 3.1.4.17.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "rpc/pdu.h"

namespace sd::rpc {

// 4b324fc8-1670-01d3-1278-5a47bf6ee188 v3.0 (MS-SRVS 1.9)
SyntaxId srvsvcSyntax();

constexpr uint16_t kOpNetrShareEnum = 15;
constexpr uint16_t kOpNetrShareGetInfo = 16;
constexpr uint16_t kOpNetrServerGetInfo = 21;

// MS-SRVS 2.2.2.4 share types.
constexpr uint32_t kStypeDiskTree = 0x00000000;
constexpr uint32_t kStypePrintQ = 0x00000001;
constexpr uint32_t kStypeDevice = 0x00000002;
constexpr uint32_t kStypeIpc = 0x00000003;
constexpr uint32_t kStypeTemporary = 0x40000000;
constexpr uint32_t kStypeSpecial = 0x80000000;
constexpr uint32_t kStypeIpcHidden = kStypeSpecial | kStypeIpc;

// Win32 error codes carried as NET_API_STATUS / WERROR (MS-ERREF 2.2, MS-SRVS 2.2.2.x).
constexpr uint32_t kWerrOk = 0;
constexpr uint32_t kWerrAccessDenied = 5;
constexpr uint32_t kWerrInvalidParameter = 0x57;
constexpr uint32_t kWerrInvalidLevel = 0x7c;
constexpr uint32_t kWerrMoreData = 0xea;
constexpr uint32_t kNerrNetNameNotFound = 0x906;

constexpr uint32_t kPlatformIdNt = 500;  // MS-SRVS 2.2.2.x PLATFORM_ID_NT
// SV_TYPE_WORKSTATION | SV_TYPE_SERVER | SV_TYPE_NT | SV_TYPE_SERVER_NT (MS-SRVS 2.2.2.7)
constexpr uint32_t kDefaultServerType = 0x00000001 | 0x00000002 | 0x00001000 | 0x00008000;

// One share as levels 0/1/2/501/1005 describe it (MS-SRVS 2.2.4.22-2.2.4.29).
struct ShareInfo {
  std::string name;
  uint32_t type = kStypeDiskTree;
  std::string comment;
  std::string path;  // level 2, as a Windows path ("C:\..."); sent as given
  uint32_t permissions = 0;
  uint32_t max_uses = 0xFFFFFFFF;
  uint32_t current_uses = 0;
  uint32_t flags = 0;  // shi501_flags / shi1005_flags (CSC policy etc.)
  bool operator==(const ShareInfo&) const = default;
};

// MS-SRVS 2.2.4.40-2.2.4.41 SERVER_INFO_100 / 101
struct ServerInfo {
  std::string name;
  std::string comment;
  uint32_t platform_id = kPlatformIdNt;
  uint32_t version_major = 10;
  uint32_t version_minor = 0;
  uint32_t type = kDefaultServerType;
  bool operator==(const ServerInfo&) const = default;
};

// MS-SRVS 3.1.4.8 NetrShareEnum. The InfoStruct container the client sends in is parsed (and
// must be well-formed) but its contents are not used.
struct NetrShareEnumRequest {
  std::optional<std::string> server_name;
  uint32_t level = 1;
  uint32_t prefered_maximum_length = 0xFFFFFFFF;
  std::optional<uint32_t> resume_handle;
};

struct NetrShareEnumResponse {
  uint32_t level = 1;
  // Encoded for levels 0, 1, 2; for any other level the container pointer is NULL.
  std::vector<ShareInfo> shares;
  bool null_container = false;  // decoded: the container pointer was NULL
  uint32_t total_entries = 0;
  std::optional<uint32_t> resume_handle;
  uint32_t status = kWerrOk;
};

// MS-SRVS 3.1.4.10 NetrShareGetInfo
struct NetrShareGetInfoRequest {
  std::optional<std::string> server_name;
  std::string net_name;
  uint32_t level = 1;
};

struct NetrShareGetInfoResponse {
  uint32_t level = 1;
  std::optional<ShareInfo> info;  // NULL pointer when absent (errors, unknown levels)
  uint32_t status = kWerrOk;
};

// MS-SRVS 3.1.4.17 NetrServerGetInfo
struct NetrServerGetInfoRequest {
  std::optional<std::string> server_name;
  uint32_t level = 101;
};

struct NetrServerGetInfoResponse {
  uint32_t level = 101;
  std::optional<ServerInfo> info;
  uint32_t status = kWerrOk;
};

bool isSupportedShareEnumLevel(uint32_t level);      // 0, 1, 2
bool isSupportedShareGetInfoLevel(uint32_t level);   // 0, 1, 2, 501, 1005
bool isSupportedServerGetInfoLevel(uint32_t level);  // 100, 101

// Decoders fail (the pipe answers with a fault rpc_x_bad_stub_data) on malformed stubs; they
// decode unsupported levels only as far as the level (the rest is not needed to answer
// WERR_INVALID_LEVEL).
Result<NetrShareEnumRequest> decodeNetrShareEnumRequest(ByteView stub);
Bytes encodeNetrShareEnumRequest(const NetrShareEnumRequest& q);
Bytes encodeNetrShareEnumResponse(const NetrShareEnumResponse& p);
Result<NetrShareEnumResponse> decodeNetrShareEnumResponse(ByteView stub);

Result<NetrShareGetInfoRequest> decodeNetrShareGetInfoRequest(ByteView stub);
Bytes encodeNetrShareGetInfoRequest(const NetrShareGetInfoRequest& q);
Bytes encodeNetrShareGetInfoResponse(const NetrShareGetInfoResponse& p);
Result<NetrShareGetInfoResponse> decodeNetrShareGetInfoResponse(ByteView stub);

Result<NetrServerGetInfoRequest> decodeNetrServerGetInfoRequest(ByteView stub);
Bytes encodeNetrServerGetInfoRequest(const NetrServerGetInfoRequest& q);
Bytes encodeNetrServerGetInfoResponse(const NetrServerGetInfoResponse& p);
Result<NetrServerGetInfoResponse> decodeNetrServerGetInfoResponse(ByteView stub);

}  // namespace sd::rpc
