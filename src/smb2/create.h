// CREATE (MS-SMB2 2.2.13, 2.2.14) with create contexts (2.2.13.2, 2.2.14.2). Sans-I/O.
#pragma once
#include <string>
#include <vector>

#include "base/bytes.h"
#include "smb2/header.h"

namespace sd::smb2 {

// MS-SMB2 2.2.13.2 (one element of the chain)
struct CreateContext {
  std::string name;  // 4-char tags as text; 16-byte GUID names as 32 hex digits
  ByteView data;
};
struct CreateContextOut {
  std::string name;
  Bytes data;
};

// MS-SMB2 2.2.13
struct CreateRequest {
  uint8_t security_flags = 0;
  uint8_t requested_oplock_level = 0;
  uint32_t impersonation_level = 0;
  uint64_t smb_create_flags = 0;
  uint32_t desired_access = 0;
  uint32_t file_attributes = 0;
  uint32_t share_access = 0;
  uint32_t create_disposition = 0;
  uint32_t create_options = 0;
  std::string name;  // UTF-8, share-relative, '\' separated
  std::vector<CreateContext> create_contexts;
};
Result<CreateRequest> decodeCreateRequest(ByteView msg);
void encodeCreateRequest(const CreateRequest& q, const std::vector<CreateContextOut>& ctxs,
                         ByteWriter& w);

// MS-SMB2 2.2.14
struct CreateResponse {
  uint8_t oplock_level = 0;
  uint8_t flags = 0;
  uint32_t create_action = 0;
  uint64_t creation_time = 0, last_access_time = 0, last_write_time = 0, change_time = 0;
  uint64_t allocation_size = 0, end_of_file = 0;
  uint32_t file_attributes = 0;
  FileId file_id;
  std::vector<CreateContextOut> contexts;  // encode side
  std::vector<CreateContext> decoded_contexts;  // decode side
};
void encodeCreateResponse(const CreateResponse& p, ByteWriter& w);
Result<CreateResponse> decodeCreateResponse(ByteView msg);

// Parses a create-context chain (8-byte aligned elements linked by Next).
Result<std::vector<CreateContext>> decodeCreateContexts(ByteView chain);
// Encodes a chain; returns its bytes (offsets inside are chain-relative as the spec requires).
Bytes encodeCreateContexts(const std::vector<CreateContextOut>& ctxs);

// Typed response contexts.
CreateContextOut makeMaximalAccessResponse(NtStatus query_status, uint32_t maximal_access);  // 2.2.14.2.5
CreateContextOut makeQueryOnDiskIdResponse(uint64_t file_id, uint64_t volume_id);            // 2.2.14.2.9
// Typed request contexts.
Result<uint64_t> decodeAllocationSize(ByteView data);  // AlSi, 2.2.13.2.6

}  // namespace sd::smb2
