// SMB2 packet header (MS-SMB2 2.2.1.1 async, 2.2.1.2 sync) and command codes. Sans-I/O; any
// thread.
#pragma once
#include <array>

#include "base/bytes.h"

namespace sd::smb2 {

constexpr size_t kHeaderSize = 64;

enum class Command : uint16_t {
  kNegotiate = 0x00,
  kSessionSetup = 0x01,
  kLogoff = 0x02,
  kTreeConnect = 0x03,
  kTreeDisconnect = 0x04,
  kCreate = 0x05,
  kClose = 0x06,
  kFlush = 0x07,
  kRead = 0x08,
  kWrite = 0x09,
  kLock = 0x0A,
  kIoctl = 0x0B,
  kCancel = 0x0C,
  kEcho = 0x0D,
  kQueryDirectory = 0x0E,
  kChangeNotify = 0x0F,
  kQueryInfo = 0x10,
  kSetInfo = 0x11,
  kOplockBreak = 0x12,
};
const char* commandName(uint16_t command);

constexpr uint32_t kFlagServerToRedir = 0x00000001, kFlagAsyncCommand = 0x00000002,
                   kFlagRelatedOperations = 0x00000004, kFlagSigned = 0x00000008,
                   kFlagPriorityMask = 0x00000070, kFlagDfsOperations = 0x10000000,
                   kFlagReplayOperation = 0x20000000;

// MS-SMB2 2.2.1
struct Header {
  uint16_t credit_charge = 0;
  uint32_t status = 0;  // NTSTATUS in responses, ChannelSequence/Reserved in requests
  Command command = Command::kNegotiate;
  uint16_t credit = 0;  // CreditRequest / CreditResponse
  uint32_t flags = 0;
  uint32_t next_command = 0;
  uint64_t message_id = 0;
  uint64_t async_id = 0;    // when kFlagAsyncCommand
  uint32_t process_id = 0;  // sync form
  uint32_t tree_id = 0;     // sync form
  uint64_t session_id = 0;
  std::array<uint8_t, 16> signature{};
};

// Offsets of header fields, for in-place edits of encoded messages.
constexpr size_t kOffStatus = 8, kOffCommand = 12, kOffCredit = 14, kOffFlags = 16,
                 kOffNextCommand = 20, kOffMessageId = 24, kOffTreeId = 36, kOffAsyncId = 32,
                 kOffSessionId = 40, kOffSignature = 48;

// Decodes the header at msg[0..64): checks ProtocolId 0xFE 'S' 'M' 'B' and StructureSize 64.
Result<Header> decodeHeader(ByteView msg);
// Appends the 64-byte header.
void encodeHeader(const Header& h, ByteWriter& w);

// SMB2 file identifier (MS-SMB2 2.2.14.1).
struct FileId {
  uint64_t persistent = 0;
  uint64_t volatile_ = 0;
  bool operator==(const FileId& o) const {
    return persistent == o.persistent && volatile_ == o.volatile_;
  }
};
Result<FileId> readFileId(ByteReader& r);
void writeFileId(ByteWriter& w, const FileId& f);

}  // namespace sd::smb2
