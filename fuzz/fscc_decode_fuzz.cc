// Fuzzes every fscc decoder (directory entries of every class, query/set file classes,
// file-system classes, EAs, streams, SIDs, ACLs, security descriptors) and fitOutput. The first
// byte picks the OutputBufferLength for fitOutput; the whole input feeds every decoder. Decoded
// directory entries and change notification records are re-encoded and must decode to the same.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "fscc/directory_info.h"
#include "fscc/file_info.h"
#include "fscc/fs_info.h"
#include "fscc/notify_info.h"
#include "fscc/output_length.h"
#include "fscc/security_descriptor.h"

using namespace sd;
using namespace sd::fscc;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteView in(data, size);

  for (uint8_t cls = 0; cls < 100; cls++) {
    if (!isDirectoryInfoClass(cls)) continue;
    auto entries = decodeDirectoryEntries(cls, in);
    if (!entries) continue;
    Bytes out;
    DirectoryEntryWriter w(out, cls, 1u << 30);
    for (const auto& fi : *entries)
      if (!w.add(fi)) std::abort();
    auto again = decodeDirectoryEntries(cls, out);
    if (!again || again->size() != entries->size()) std::abort();
    for (size_t i = 0; i < entries->size(); i++)
      if ((*again)[i].name != (*entries)[i].name) std::abort();
  }

  FileInfo fi;
  for (uint8_t cls = 0; cls < 100; cls++) (void)mergeFileInformation(cls, in, fi);
  if (auto n = decodeNotifyInformation(in)) {
    // Re-encoded records decode to the same (a '/' goes out as '\\').
    auto again = decodeNotifyInformation(encodeNotifyInformation(*n));
    for (auto& e : *n)
      for (auto& c : e.name)
        if (c == '/') c = '\\';
    if (!again || *again != *n) std::abort();
  }
  (void)decodeFileBasicInformation(in);
  (void)decodeFileStandardInformation(in);
  (void)decodeFileAllInformation(in);
  (void)decodeFileNameInformation(in);
  (void)decodeFileNetworkOpenInformation(in);
  (void)decodeFileAttributeTagInformation(in);
  (void)decodeFileCompressionInformation(in);
  (void)decodeFileIdInformation(in);
  (void)decodeFilePipeInformation(in);
  (void)decodeFilePipeLocalInformation(in);
  if (auto s = decodeFileStreamInformation(in)) (void)encodeFileStreamInformation(*s);
  (void)decodeFileRenameInformation(in);
  (void)decodeFileLinkInformation(in);
  (void)decodeFileDispositionInformation(in);
  (void)decodeFileDispositionInformationEx(in);
  (void)decodeFileEndOfFileInformation(in);
  (void)decodeFileAllocationInformation(in);
  (void)decodeFilePositionInformation(in);
  (void)decodeFileModeInformation(in);
  (void)decodeFileValidDataLengthInformation(in);
  (void)decodeFileShortNameInformation(in);
  if (auto eas = decodeFileFullEaInformation(in)) {
    auto again = decodeFileFullEaInformation(encodeFileFullEaInformation(*eas));
    if (!again || *again != *eas) std::abort();
  }

  (void)decodeFsVolumeInformation(in);
  (void)decodeFsSizeInformation(in);
  (void)decodeFsFullSizeInformation(in);
  (void)decodeFsDeviceInformation(in);
  (void)decodeFsAttributeInformation(in);
  (void)decodeFsControlInformation(in);
  (void)decodeFsObjectIdInformation(in);
  (void)decodeFsSectorSizeInformation(in);

  if (auto sid = decodeSid(in)) {
    auto p = parseSid(sidToString(*sid));
    if (!p || !(*p == *sid)) std::abort();
  }
  (void)parseSid(std::string_view(reinterpret_cast<const char*>(data), size));
  if (auto acl = decodeAcl(in)) (void)encodeAcl(*acl);
  if (auto sd = decodeSecurityDescriptor(in)) {
    // What the server does with a client's descriptor: store it (encode, and the stored bytes
    // must decode again), merge it, check access against it, inherit from it.
    Bytes stored = encodeSecurityDescriptor(*sd);
    auto again = decodeSecurityDescriptor(stored);
    if (!again) std::abort();
    std::vector<Sid> token{unixUserSid(0), unixGroupSid(0), everyoneSid(), authenticatedUsersSid()};
    (void)grantedAccess(*again, token);
    auto current = posixSecurityDescriptor(0, 0, 0755, true, 0xF);
    for (uint32_t info : {0x1u, 0x4u, 0x8u, 0xFu}) {
      auto merged = mergeSecurityDescriptor(current, *sd, info);
      if (!decodeSecurityDescriptor(encodeSecurityDescriptor(merged))) std::abort();
      (void)encodeSecurityDescriptor(selectSecurityInformation(merged, info));
    }
    for (bool dir : {false, true})
      if (auto acl = inheritedDacl(*sd, dir, unixUserSid(1), unixGroupSid(1))) (void)encodeAcl(*acl);
  }

  if (size > 0) {
    uint32_t max = data[0];
    Bytes full(data, data + size);
    for (uint8_t type : {kInfoFile, kInfoFilesystem})
      for (uint8_t cls = 0; cls < 70; cls++) {
        auto r = fitOutput(type, cls, full, max);
        if (r && r->first.size() > max) std::abort();
      }
  }
  return 0;
}
