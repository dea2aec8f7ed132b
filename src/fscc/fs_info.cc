// File-system information classes: fixed layouts from the MS-FSCC 2.5 tables.
#include "fscc/fs_info.h"

#include <algorithm>

#include "base/text.h"

namespace sd::fscc {

namespace {

Status need(ByteView in, size_t n, const char* what) {
  if (in.size() < n) return err(NtStatus::kInfoLengthMismatch, what);
  return ok();
}

// Takes up to `len` bytes of a UTF-16 name that may have been truncated by the server.
Result<std::string> truncatedName(ByteReader& r, uint32_t len) {
  size_t have = std::min<size_t>(len, r.remaining()) & ~size_t(1);
  auto b = SD_TRY(r.bytes(have));
  return utf16leToUtf8(b);
}

}  // namespace

// MS-FSCC 2.5.9: VolumeCreationTime (8), VolumeSerialNumber (4), VolumeLabelLength (4),
// SupportsObjects (1), Reserved (1), VolumeLabel.
Bytes encodeFsVolumeInformation(const FsVolumeInfo& v) {
  ByteWriter w;
  Bytes label = utf16le(v.volume_label);
  w.u64(v.volume_creation_time);
  w.u32(v.volume_serial_number);
  w.u32(uint32_t(label.size()));
  w.u8(v.supports_objects ? 1 : 0);
  w.u8(0);
  w.bytes(label);
  return w.take();
}

Result<FsVolumeInfo> decodeFsVolumeInformation(ByteView in) {
  SD_CHECK(need(in, 18, "FileFsVolumeInformation"));
  ByteReader r(in);
  FsVolumeInfo v;
  v.volume_creation_time = SD_TRY(r.u64());
  v.volume_serial_number = SD_TRY(r.u32());
  v.volume_label_length = SD_TRY(r.u32());
  v.supports_objects = SD_TRY(r.u8()) != 0;
  SD_CHECK(r.skip(1));
  v.volume_label = SD_TRY(truncatedName(r, v.volume_label_length));
  return v;
}

// MS-FSCC 2.5.8: TotalAllocationUnits, AvailableAllocationUnits, SectorsPerAllocationUnit,
// BytesPerSector.
Bytes encodeFsSizeInformation(const FsSizeInfo& s) {
  ByteWriter w;
  w.u64(s.total_allocation_units);
  w.u64(s.caller_available_allocation_units);
  w.u32(s.sectors_per_allocation_unit);
  w.u32(s.bytes_per_sector);
  return w.take();
}

Result<FsSizeInfo> decodeFsSizeInformation(ByteView in) {
  SD_CHECK(need(in, 24, "FileFsSizeInformation"));
  FsSizeInfo s;
  s.total_allocation_units = le64(in.data());
  s.caller_available_allocation_units = le64(in.data() + 8);
  s.actual_available_allocation_units = s.caller_available_allocation_units;
  s.sectors_per_allocation_unit = le32(in.data() + 16);
  s.bytes_per_sector = le32(in.data() + 20);
  return s;
}

// MS-FSCC 2.5.4: TotalAllocationUnits, CallerAvailableAllocationUnits,
// ActualAvailableAllocationUnits, SectorsPerAllocationUnit, BytesPerSector.
Bytes encodeFsFullSizeInformation(const FsSizeInfo& s) {
  ByteWriter w;
  w.u64(s.total_allocation_units);
  w.u64(s.caller_available_allocation_units);
  w.u64(s.actual_available_allocation_units);
  w.u32(s.sectors_per_allocation_unit);
  w.u32(s.bytes_per_sector);
  return w.take();
}

Result<FsSizeInfo> decodeFsFullSizeInformation(ByteView in) {
  SD_CHECK(need(in, 32, "FileFsFullSizeInformation"));
  FsSizeInfo s;
  s.total_allocation_units = le64(in.data());
  s.caller_available_allocation_units = le64(in.data() + 8);
  s.actual_available_allocation_units = le64(in.data() + 16);
  s.sectors_per_allocation_unit = le32(in.data() + 24);
  s.bytes_per_sector = le32(in.data() + 28);
  return s;
}

// MS-FSCC 2.5.10: DeviceType (4), Characteristics (4).
Bytes encodeFsDeviceInformation(uint32_t device_type, uint32_t characteristics) {
  ByteWriter w;
  w.u32(device_type);
  w.u32(characteristics);
  return w.take();
}

Result<FsDeviceInfo> decodeFsDeviceInformation(ByteView in) {
  SD_CHECK(need(in, 8, "FileFsDeviceInformation"));
  return FsDeviceInfo{le32(in.data()), le32(in.data() + 4)};
}

// MS-FSCC 2.5.1: FileSystemAttributes (4), MaximumComponentNameLength (4),
// FileSystemNameLength (4), FileSystemName.
Bytes encodeFsAttributeInformation(const FsAttributeInfo& a) {
  ByteWriter w;
  Bytes name = utf16le(a.file_system_name);
  w.u32(a.file_system_attributes);
  w.u32(uint32_t(a.maximum_component_name_length));
  w.u32(uint32_t(name.size()));
  w.bytes(name);
  return w.take();
}

Result<FsAttributeInfo> decodeFsAttributeInformation(ByteView in) {
  SD_CHECK(need(in, 12, "FileFsAttributeInformation"));
  ByteReader r(in);
  FsAttributeInfo a;
  a.file_system_attributes = SD_TRY(r.u32());
  a.maximum_component_name_length = int32_t(SD_TRY(r.u32()));
  a.file_system_name_length = SD_TRY(r.u32());
  a.file_system_name = SD_TRY(truncatedName(r, a.file_system_name_length));
  return a;
}

// MS-FSCC 2.5.2: five LARGE_INTEGERs, FileSystemControlFlags (4), Padding (4).
Bytes encodeFsControlInformation(const FsControlInfo& c) {
  ByteWriter w;
  w.u64(c.free_space_start_filtering);
  w.u64(c.free_space_threshold);
  w.u64(c.free_space_stop_filtering);
  w.u64(c.default_quota_threshold);
  w.u64(c.default_quota_limit);
  w.u32(c.file_system_control_flags);
  w.u32(0);
  return w.take();
}

Result<FsControlInfo> decodeFsControlInformation(ByteView in) {
  SD_CHECK(need(in, 48, "FileFsControlInformation"));
  FsControlInfo c;
  c.free_space_start_filtering = le64(in.data());
  c.free_space_threshold = le64(in.data() + 8);
  c.free_space_stop_filtering = le64(in.data() + 16);
  c.default_quota_threshold = le64(in.data() + 24);
  c.default_quota_limit = le64(in.data() + 32);
  c.file_system_control_flags = le32(in.data() + 40);
  return c;
}

// MS-FSCC 2.5.6: ObjectId (16), ExtendedInfo (48).
Bytes encodeFsObjectIdInformation(ByteView object_id) {
  Bytes out(64, 0);
  std::copy_n(object_id.begin(), std::min<size_t>(object_id.size(), 16), out.begin());
  return out;
}

Result<FsObjectIdInfo> decodeFsObjectIdInformation(ByteView in) {
  SD_CHECK(need(in, 64, "FileFsObjectIdInformation"));
  FsObjectIdInfo o;
  std::copy_n(in.begin(), 16, o.object_id.begin());
  std::copy_n(in.begin() + 16, 48, o.extended_info.begin());
  return o;
}

// MS-FSCC 2.5.7: seven ULONGs.
Bytes encodeFsSectorSizeInformation(const FsSectorSizeInfo& s) {
  ByteWriter w;
  w.u32(s.logical_bytes_per_sector);
  w.u32(s.physical_bytes_per_sector_for_atomicity);
  w.u32(s.physical_bytes_per_sector_for_performance);
  w.u32(s.file_system_effective_physical_bytes_per_sector_for_atomicity);
  w.u32(s.flags);
  w.u32(s.byte_offset_for_sector_alignment);
  w.u32(s.byte_offset_for_partition_alignment);
  return w.take();
}

Bytes encodeFsSectorSizeInformation(uint32_t bytes_per_sector) {
  FsSectorSizeInfo s;
  s.logical_bytes_per_sector = bytes_per_sector;
  s.physical_bytes_per_sector_for_atomicity = bytes_per_sector;
  s.physical_bytes_per_sector_for_performance = bytes_per_sector;
  s.file_system_effective_physical_bytes_per_sector_for_atomicity = bytes_per_sector;
  return encodeFsSectorSizeInformation(s);
}

Result<FsSectorSizeInfo> decodeFsSectorSizeInformation(ByteView in) {
  SD_CHECK(need(in, 28, "FileFsSectorSizeInformation"));
  const uint8_t* p = in.data();
  FsSectorSizeInfo s;
  s.logical_bytes_per_sector = le32(p);
  s.physical_bytes_per_sector_for_atomicity = le32(p + 4);
  s.physical_bytes_per_sector_for_performance = le32(p + 8);
  s.file_system_effective_physical_bytes_per_sector_for_atomicity = le32(p + 12);
  s.flags = le32(p + 16);
  s.byte_offset_for_sector_alignment = le32(p + 20);
  s.byte_offset_for_partition_alignment = le32(p + 24);
  return s;
}

}  // namespace sd::fscc
