// File-system information classes (MS-FSCC 2.5) for SMB2 QUERY_INFO with InfoType
// SMB2_0_INFO_FILESYSTEM: encoders for the server, bounded decoders for the client. Owned by
// fscc/; pure functions, any thread.
#pragma once
#include <array>
#include <cstdint>
#include <string>

#include "base/bytes.h"
#include "base/result.h"
#include "fscc/constants.h"
#include "fscc/output_length.h"

namespace sd::fscc {

// MS-FSCC 2.5.9 FileFsVolumeInformation
struct FsVolumeInfo {
  uint64_t volume_creation_time = 0;
  uint32_t volume_serial_number = 0;
  bool supports_objects = false;
  std::string volume_label;  // UTF-8
  uint32_t volume_label_length = 0;  // decode only: as on the wire (may exceed what is present)
};
// MS-FSCC 2.5.8 FileFsSizeInformation / 2.5.4 FileFsFullSizeInformation. Size information
// reports caller_available_allocation_units as AvailableAllocationUnits.
struct FsSizeInfo {
  uint64_t total_allocation_units = 0;
  uint64_t caller_available_allocation_units = 0;
  uint64_t actual_available_allocation_units = 0;
  uint32_t sectors_per_allocation_unit = 0;
  uint32_t bytes_per_sector = 0;
};
// MS-FSCC 2.5.10 FileFsDeviceInformation
struct FsDeviceInfo {
  uint32_t device_type = 0;
  uint32_t characteristics = 0;
};
// MS-FSCC 2.5.1 FileFsAttributeInformation
struct FsAttributeInfo {
  uint32_t file_system_attributes = 0;
  int32_t maximum_component_name_length = 255;
  std::string file_system_name;  // UTF-8, e.g. "NTFS"
  uint32_t file_system_name_length = 0;  // decode only
};
// MS-FSCC 2.5.2 FileFsControlInformation
struct FsControlInfo {
  uint64_t free_space_start_filtering = 0;
  uint64_t free_space_threshold = 0;
  uint64_t free_space_stop_filtering = 0;
  uint64_t default_quota_threshold = 0;
  uint64_t default_quota_limit = 0;
  uint32_t file_system_control_flags = 0;
};
// MS-FSCC 2.5.6 FileFsObjectIdInformation
struct FsObjectIdInfo {
  std::array<uint8_t, 16> object_id{};
  std::array<uint8_t, 48> extended_info{};
};
// MS-FSCC 2.5.7 FileFsSectorSizeInformation
struct FsSectorSizeInfo {
  uint32_t logical_bytes_per_sector = 512;
  uint32_t physical_bytes_per_sector_for_atomicity = 512;
  uint32_t physical_bytes_per_sector_for_performance = 512;
  uint32_t file_system_effective_physical_bytes_per_sector_for_atomicity = 512;
  uint32_t flags = kSsinfoFlagsAlignedDevice | kSsinfoFlagsPartitionAlignedOnDevice;
  uint32_t byte_offset_for_sector_alignment = 0;
  uint32_t byte_offset_for_partition_alignment = 0;
};

Bytes encodeFsVolumeInformation(const FsVolumeInfo& v);
Bytes encodeFsSizeInformation(const FsSizeInfo& s);
Bytes encodeFsFullSizeInformation(const FsSizeInfo& s);
Bytes encodeFsDeviceInformation(uint32_t device_type, uint32_t characteristics);
Bytes encodeFsAttributeInformation(const FsAttributeInfo& a);
Bytes encodeFsControlInformation(const FsControlInfo& c);
// `object_id` is the 16-byte volume GUID (shorter input is zero-padded); ExtendedInfo is zero.
Bytes encodeFsObjectIdInformation(ByteView object_id);
Bytes encodeFsSectorSizeInformation(const FsSectorSizeInfo& s);
// All sector sizes set to `bytes_per_sector`, flags aligned device + partition aligned.
Bytes encodeFsSectorSizeInformation(uint32_t bytes_per_sector);

// Decoders for the client: a buffer shorter than the fixed part is STATUS_INFO_LENGTH_MISMATCH;
// a label/name truncated by STATUS_BUFFER_OVERFLOW is returned as far as it is present.
Result<FsVolumeInfo> decodeFsVolumeInformation(ByteView in);
Result<FsSizeInfo> decodeFsSizeInformation(ByteView in);
Result<FsSizeInfo> decodeFsFullSizeInformation(ByteView in);
Result<FsDeviceInfo> decodeFsDeviceInformation(ByteView in);
Result<FsAttributeInfo> decodeFsAttributeInformation(ByteView in);
Result<FsControlInfo> decodeFsControlInformation(ByteView in);
Result<FsObjectIdInfo> decodeFsObjectIdInformation(ByteView in);
Result<FsSectorSizeInfo> decodeFsSectorSizeInformation(ByteView in);

}  // namespace sd::fscc
