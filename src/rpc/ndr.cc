// NDR string and array helpers. Counts from the wire are checked against what is left in the
// stub before anything is allocated for them.
#include "rpc/ndr.h"

#include "base/text.h"

namespace sd::rpc {

void NdrWriter::conformantVaryingString(std::string_view utf8) {
  Bytes chars = utf16le(utf8);
  uint32_t count = uint32_t(chars.size() / 2 + 1);
  u32(count);
  u32(0);
  u32(count);
  w_.bytes(chars);
  w_.u16(0);
}

Result<std::string> NdrReader::conformantVaryingString(size_t max_chars) {
  uint32_t max_count = SD_TRY(u32());
  uint32_t offset = SD_TRY(u32());
  uint32_t actual_count = SD_TRY(u32());
  if (offset != 0) return malformed("NDR string offset");
  if (actual_count > max_count) return malformed("NDR string actual_count > max_count");
  if (actual_count > max_chars) return malformed("NDR string too long");
  auto body = SD_TRY(r_.bytes(size_t(actual_count) * 2));
  if (body.size() >= 2 && body[body.size() - 2] == 0 && body[body.size() - 1] == 0)
    body = body.first(body.size() - 2);
  return utf16leToUtf8(body);
}

Result<uint32_t> NdrReader::conformance(size_t min_element_size) {
  uint32_t count = SD_TRY(u32());
  if (min_element_size != 0 && count > r_.remaining() / min_element_size)
    return malformed("NDR array count beyond stub");
  return count;
}

}  // namespace sd::rpc
