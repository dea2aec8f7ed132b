#include "smb2/simple.h"

#include "smb2/header.h"

namespace sd::smb2 {

Status decodeEmptyBody(ByteView msg) {
  ByteReader r(msg, kHeaderSize);
  SD_CHECK(r.expectU16(4));
  SD_CHECK(r.skip(2));
  return ok();
}

void encodeEmptyBody(ByteWriter& w) {
  w.u16(4);
  w.u16(0);
}

}  // namespace sd::smb2
