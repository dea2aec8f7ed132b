// Durable handles: the create contexts that ask for one (DHnQ, MS-SMB2 2.2.13.2.3; DH2Q,
// 2.2.13.2.11), that reconnect one (DHnC, 2.2.13.2.4; DH2C, 2.2.13.2.12), and the server's
// answers (2.2.14.2.3, 2.2.14.2.12). Sans-I/O, pure functions; any thread.
#pragma once
#include <array>
#include <optional>
#include <vector>

#include "smb2/create.h"

namespace sd::smb2 {

constexpr const char* kCreateDurableHandleRequestV2 = "DH2Q";
constexpr const char* kCreateDurableHandleReconnectV2 = "DH2C";
// SMB2_DHANDLE_FLAG_PERSISTENT (2.2.13.2.11 / 2.2.13.2.12 / 2.2.14.2.12).
constexpr uint32_t kDurableHandleFlagPersistent = 0x2;

using CreateGuid = std::array<uint8_t, 16>;

// MS-SMB2 2.2.13.2.11 (request) / 2.2.14.2.12 (response: Timeout and Flags only).
struct DurableRequestV2 {
  uint32_t timeout_ms = 0;  // 0: the server's default
  uint32_t flags = 0;
  CreateGuid create_guid{};
};
// MS-SMB2 2.2.13.2.12.
struct DurableReconnectV2 {
  FileId file_id;
  CreateGuid create_guid{};
  uint32_t flags = 0;
};

// The durable-handle contexts of one CREATE request, each present or not.
struct DurableContexts {
  bool request_v1 = false;                  // DHnQ
  std::optional<DurableRequestV2> request_v2;  // DH2Q
  std::optional<FileId> reconnect_v1;       // DHnC
  std::optional<DurableReconnectV2> reconnect_v2;  // DH2C
  bool any() const { return request_v1 || request_v2 || reconnect_v1 || reconnect_v2; }
  bool reconnect() const { return reconnect_v1 || reconnect_v2; }
};
// Finds and decodes them in a request's contexts; a malformed one is an error.
Result<DurableContexts> decodeDurableContexts(const std::vector<CreateContext>& contexts);

// Request contexts (client side).
CreateContextOut makeDurableRequestV1();
CreateContextOut makeDurableRequestV2(const DurableRequestV2& q);
CreateContextOut makeDurableReconnectV1(const FileId& id);
CreateContextOut makeDurableReconnectV2(const DurableReconnectV2& q);

// Response contexts (server side) and their decoders (client side).
CreateContextOut makeDurableResponseV1();                               // 2.2.14.2.3
CreateContextOut makeDurableResponseV2(uint32_t timeout_ms, uint32_t flags);  // 2.2.14.2.12
struct DurableResponse {
  bool v1 = false;  // DHnQ answered
  bool v2 = false;  // DH2Q answered, with these:
  uint32_t timeout_ms = 0, flags = 0;
};
Result<DurableResponse> decodeDurableResponse(const std::vector<CreateContext>& contexts);

}  // namespace sd::smb2
