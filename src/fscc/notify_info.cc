#include "fscc/notify_info.h"

#include "base/text.h"

namespace sd::fscc {

namespace {
std::string wireName(std::string_view name) {
  std::string s(name);
  for (auto& c : s)
    if (c == '/') c = '\\';
  return s;
}
}  // namespace

size_t notifyEntrySize(const NotifyEntry& e) {
  size_t n = 12 + utf16le(wireName(e.name)).size();
  return (n + 3) & ~size_t(3);
}

Bytes encodeNotifyInformation(const std::vector<NotifyEntry>& entries) {
  ByteWriter w;
  for (size_t i = 0; i < entries.size(); i++) {
    Bytes name = utf16le(wireName(entries[i].name));
    size_t start = w.size();
    bool last = i + 1 == entries.size();
    size_t len = 12 + name.size();
    size_t padded = (len + 3) & ~size_t(3);
    w.u32(last ? 0 : uint32_t(padded));
    w.u32(entries[i].action);
    w.u32(uint32_t(name.size()));
    w.bytes(name);
    if (!last)
      while (w.size() - start < padded) w.u8(0);
  }
  return w.take();
}

Result<std::vector<NotifyEntry>> decodeNotifyInformation(ByteView in) {
  std::vector<NotifyEntry> out;
  size_t at = 0;
  while (at < in.size()) {
    ByteReader r(in, at);
    uint32_t next = SD_TRY(r.u32());
    NotifyEntry e;
    e.action = SD_TRY(r.u32());
    uint32_t len = SD_TRY(r.u32());
    ByteView name = SD_TRY(r.bytes(len));
    e.name = SD_TRY(utf16leToUtf8(name));
    out.push_back(std::move(e));
    if (next == 0) break;
    if (next < 12 || next > in.size() - at) return err(NtStatus::kInvalidNetworkResponse, "NextEntryOffset");
    at += next;
  }
  return out;
}

}  // namespace sd::fscc
