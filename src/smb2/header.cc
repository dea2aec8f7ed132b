#include "smb2/header.h"

namespace sd::smb2 {

const char* commandName(uint16_t c) {
  static const char* kNames[] = {"NEGOTIATE", "SESSION_SETUP", "LOGOFF", "TREE_CONNECT",
                                 "TREE_DISCONNECT", "CREATE", "CLOSE", "FLUSH", "READ", "WRITE",
                                 "LOCK", "IOCTL", "CANCEL", "ECHO", "QUERY_DIRECTORY",
                                 "CHANGE_NOTIFY", "QUERY_INFO", "SET_INFO", "OPLOCK_BREAK"};
  return c < sizeof kNames / sizeof kNames[0] ? kNames[c] : "UNKNOWN";
}

Result<Header> decodeHeader(ByteView msg) {
  ByteReader r(msg);
  auto magic = SD_TRY(r.bytes(4));
  if (magic[0] != 0xFE || magic[1] != 'S' || magic[2] != 'M' || magic[3] != 'B')
    return malformed("not an SMB2 header");
  SD_CHECK(r.expectU16(64, "bad header StructureSize"));
  Header h;
  h.credit_charge = SD_TRY(r.u16());
  h.status = SD_TRY(r.u32());
  h.command = Command(SD_TRY(r.u16()));
  h.credit = SD_TRY(r.u16());
  h.flags = SD_TRY(r.u32());
  h.next_command = SD_TRY(r.u32());
  h.message_id = SD_TRY(r.u64());
  if (h.flags & kFlagAsyncCommand) {
    h.async_id = SD_TRY(r.u64());
  } else {
    h.process_id = SD_TRY(r.u32());
    h.tree_id = SD_TRY(r.u32());
  }
  h.session_id = SD_TRY(r.u64());
  auto sig = SD_TRY(r.bytes(16));
  std::copy(sig.begin(), sig.end(), h.signature.begin());
  return h;
}

void encodeHeader(const Header& h, ByteWriter& w) {
  w.u8(0xFE);
  w.u8('S');
  w.u8('M');
  w.u8('B');
  w.u16(64);
  w.u16(h.credit_charge);
  w.u32(h.status);
  w.u16(uint16_t(h.command));
  w.u16(h.credit);
  w.u32(h.flags);
  w.u32(h.next_command);
  w.u64(h.message_id);
  if (h.flags & kFlagAsyncCommand) {
    w.u64(h.async_id);
  } else {
    w.u32(h.process_id);
    w.u32(h.tree_id);
  }
  w.u64(h.session_id);
  w.bytes(ByteView(h.signature.data(), 16));
}

Result<FileId> readFileId(ByteReader& r) {
  FileId f;
  f.persistent = SD_TRY(r.u64());
  f.volatile_ = SD_TRY(r.u64());
  return f;
}
void writeFileId(ByteWriter& w, const FileId& f) {
  w.u64(f.persistent);
  w.u64(f.volatile_);
}

}  // namespace sd::smb2
