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

}  // namespace sd::smb2
