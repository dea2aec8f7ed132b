#include "smb2/oplock_break.h"

namespace sd::smb2 {

Result<OplockBreakAcknowledgment> decodeOplockBreakAcknowledgment(ByteView msg) {
  ByteReader r(msg, kHeaderSize);
  SD_CHECK(r.expectU16(24));
  OplockBreakAcknowledgment a;
  a.oplock_level = SD_TRY(r.u8());
  SD_CHECK(r.skip(5));
  a.file_id = SD_TRY(readFileId(r));
  return a;
}

void encodeOplockBreak(uint8_t oplock_level, const FileId& file_id, ByteWriter& w) {
  w.u16(24);
  w.u8(oplock_level);
  w.u8(0);
  w.u32(0);
  writeFileId(w, file_id);
}

}  // namespace sd::smb2
