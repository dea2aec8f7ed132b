// Minimums follow the MS-FSA pseudocode ("If OutputBufferSize is smaller than ... the operation
// MUST be failed with STATUS_INFO_LENGTH_MISMATCH"); they match what Samba's smbd enforces
// (its fixed_portion values) and what smbtorture smb2.getinfo expects from Windows.
#include "fscc/output_length.h"

#include <cstddef>
#include <cstdint>

#include "fscc/constants.h"
#include "fscc/file_info.h"

namespace sd::fscc {

namespace {

enum class Shape : uint8_t { kFixed, kName, kAll, kStreams, kFsVolume, kFsAttribute, kEa };

struct Rule {
  uint8_t info_type;
  uint8_t info_class;
  uint32_t minimum;
  Shape shape;
};

constexpr Rule kRules[] = {
    {kInfoFile, kFileBasicInformation, 40, Shape::kFixed},
    {kInfoFile, kFileStandardInformation, 24, Shape::kFixed},
    {kInfoFile, kFileInternalInformation, 8, Shape::kFixed},
    {kInfoFile, kFileEaInformation, 4, Shape::kFixed},
    {kInfoFile, kFileAccessInformation, 4, Shape::kFixed},
    {kInfoFile, kFilePositionInformation, 8, Shape::kFixed},
    {kInfoFile, kFileModeInformation, 4, Shape::kFixed},
    {kInfoFile, kFileAlignmentInformation, 4, Shape::kFixed},
    {kInfoFile, kFileCompressionInformation, 16, Shape::kFixed},
    {kInfoFile, kFileNetworkOpenInformation, 56, Shape::kFixed},
    {kInfoFile, kFileAttributeTagInformation, 8, Shape::kFixed},
    {kInfoFile, kFileIdInformation, 24, Shape::kFixed},
    {kInfoFile, kFilePipeInformation, 8, Shape::kFixed},
    {kInfoFile, kFilePipeLocalInformation, 40, Shape::kFixed},
    // MS-FSA 2.1.5.12.x: BlockAlign(FieldOffset(FILE_NAME_INFORMATION.FileName) + 2, 4) = 8.
    {kInfoFile, kFileNameInformation, 8, Shape::kName},
    {kInfoFile, kFileNormalizedNameInformation, 8, Shape::kName},
    {kInfoFile, kFileAlternateNameInformation, 8, Shape::kName},
    // BlockAlign(FieldOffset(FILE_ALL_INFORMATION.NameInformation.FileName), 8) = 104.
    {kInfoFile, kFileAllInformation, 104, Shape::kAll},
    // sizeof(FILE_STREAM_INFORMATION) = 24 + a padded WCHAR = 32.
    {kInfoFile, kFileStreamInformation, 32, Shape::kStreams},
    {kInfoFile, kFileFullEaInformation, 8, Shape::kEa},
    // BlockAlign(FieldOffset(FILE_FS_VOLUME_INFORMATION.VolumeLabel), 8) = 24.
    {kInfoFilesystem, kFileFsVolumeInformation, 24, Shape::kFsVolume},
    {kInfoFilesystem, kFileFsSizeInformation, 24, Shape::kFixed},
    {kInfoFilesystem, kFileFsDeviceInformation, 8, Shape::kFixed},
    // BlockAlign(FieldOffset(FILE_FS_ATTRIBUTE_INFORMATION.FileSystemName), 4) = 12.
    {kInfoFilesystem, kFileFsAttributeInformation, 12, Shape::kFsAttribute},
    {kInfoFilesystem, kFileFsControlInformation, 48, Shape::kFixed},
    {kInfoFilesystem, kFileFsFullSizeInformation, 32, Shape::kFixed},
    {kInfoFilesystem, kFileFsObjectIdInformation, 64, Shape::kFixed},
    {kInfoFilesystem, kFileFsSectorSizeInformation, 28, Shape::kFixed},
};

const Rule* ruleFor(uint8_t type, uint8_t cls) {
  for (const auto& r : kRules)
    if (r.info_type == type && r.info_class == cls) return &r;
  return nullptr;
}

}  // namespace

OutputRule outputRule(uint8_t info_type, uint8_t info_class) {
  const Rule* r = ruleFor(info_type, info_class);
  if (!r) return {};
  return {r->minimum, r->shape != Shape::kFixed};
}

Result<std::pair<Bytes, NtStatus>> fitOutput(uint8_t info_type, uint8_t info_class, Bytes full,
                                             uint32_t max_output) {
  const Rule* r = ruleFor(info_type, info_class);
  uint32_t minimum = r ? r->minimum : 0;
  if (max_output < minimum) return err(NtStatus::kInfoLengthMismatch, "output buffer too small");
  if (full.size() <= max_output) return std::make_pair(std::move(full), NtStatus::kSuccess);
  if (!r || r->shape == Shape::kFixed)
    return err(NtStatus::kInfoLengthMismatch, "output buffer too small");
  switch (r->shape) {
    case Shape::kName:
    case Shape::kAll: {
      // Names are cut to whole UTF-16 units; FileNameLength keeps the full length so the
      // client learns how much it needs (MS-FSA: AvailableNameLength bytes copied).
      size_t name_at = r->shape == Shape::kName ? 4 : 100;
      size_t avail = (size_t(max_output) - name_at) & ~size_t(1);
      full.resize(name_at + avail);
      return std::make_pair(std::move(full), NtStatus::kBufferOverflow);
    }
    case Shape::kFsVolume:
    case Shape::kFsAttribute: {
      size_t name_at = r->shape == Shape::kFsVolume ? 18 : 12;
      size_t avail = (size_t(max_output) - name_at) & ~size_t(1);
      full.resize(name_at + avail);
      return std::make_pair(std::move(full), NtStatus::kBufferOverflow);
    }
    case Shape::kStreams:
    case Shape::kEa: {
      // Whole entries only (MS-FSA 2.1.5.12.29: an element that does not fit is not copied);
      // the last kept entry's NextEntryOffset becomes 0 and trailing padding is dropped.
      size_t fixed = r->shape == Shape::kStreams ? 24 : 8;
      size_t pos = 0, keep_end = 0, keep_at = SIZE_MAX;
      for (size_t n = 0; n <= full.size() && pos + fixed <= full.size(); n++) {
        size_t body;
        if (r->shape == Shape::kStreams) {
          body = 24 + size_t(le32(full.data() + pos + 4));
        } else {
          body = 8 + size_t(full[pos + 5]) + 1 + size_t(le16(full.data() + pos + 6));
        }
        if (pos + body > max_output) break;
        keep_at = pos;
        keep_end = pos + body;
        uint32_t next = le32(full.data() + pos);
        if (!next) break;
        pos += next;
      }
      // Not even the first element fits: nothing is copied, still STATUS_BUFFER_OVERFLOW.
      if (keep_at == SIZE_MAX) return std::make_pair(Bytes{}, NtStatus::kBufferOverflow);
      store32(full.data() + keep_at, 0);
      full.resize(keep_end);
      return std::make_pair(std::move(full), NtStatus::kBufferOverflow);
    }
    case Shape::kFixed:
      break;
  }
  return err(NtStatus::kInfoLengthMismatch, "output buffer too small");
}

}  // namespace sd::fscc
