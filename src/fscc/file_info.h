// File information classes (MS-FSCC 2.4) for SMB2 QUERY_INFO / SET_INFO with InfoType
// SMB2_0_INFO_FILE: the neutral FileInfo the server fills from its VFS, per-class value structs,
// encoders (server: query responses; client: set requests) and bounded decoders (client: query
// responses; server: set requests, with the MS-FSA 2.1.5.15 input checks). Owned by fscc/; pure
// functions, any thread. No file-system calls.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "fscc/constants.h"
#include "fscc/output_length.h"

namespace sd::fscc {

// Everything one directory entry or one query can say about a file, independent of the wire
// class. Times are FILETIME (100 ns since 1601). `name` is UTF-8 (the last component for
// directory entries, the share-relative path with a leading '\' for FileNameInformation).
struct FileInfo {
  std::string name;
  std::string short_name;  // 8.3 name; empty when none
  uint64_t creation_time = 0;
  uint64_t last_access_time = 0;
  uint64_t last_write_time = 0;
  uint64_t change_time = 0;
  uint64_t end_of_file = 0;
  uint64_t allocation_size = 0;
  uint32_t file_attributes = 0;
  uint32_t ea_size = 0;
  uint64_t file_id = 0;  // also the low half of 128-bit ids (FileIdExtd*, FileIdInformation)
  uint32_t number_of_links = 1;
  bool delete_pending = false;
  bool directory = false;
  uint32_t reparse_tag = 0;
  uint32_t file_index = 0;
  uint64_t volume_serial_number = 0;  // FileIdInformation
};

// Per-open state some classes report (FileAccess/Position/Mode/Alignment/AllInformation).
struct OpenInfo {
  uint32_t access_flags = 0;
  uint64_t current_byte_offset = 0;
  uint32_t mode = 0;
  uint32_t alignment_requirement = 0;
};

// MS-FSCC 2.4.7
struct FileBasicInformation {
  uint64_t creation_time = 0;
  uint64_t last_access_time = 0;
  uint64_t last_write_time = 0;
  uint64_t change_time = 0;
  uint32_t file_attributes = 0;
};
// MS-FSCC 2.4.47
struct FileStandardInformation {
  uint64_t allocation_size = 0;
  uint64_t end_of_file = 0;
  uint32_t number_of_links = 0;
  bool delete_pending = false;
  bool directory = false;
};
// MS-FSCC 2.4.34
struct FileNetworkOpenInformation {
  uint64_t creation_time = 0;
  uint64_t last_access_time = 0;
  uint64_t last_write_time = 0;
  uint64_t change_time = 0;
  uint64_t allocation_size = 0;
  uint64_t end_of_file = 0;
  uint32_t file_attributes = 0;
};
// MS-FSCC 2.4.2
struct FileAllInformation {
  FileBasicInformation basic;
  FileStandardInformation standard;
  uint64_t index_number = 0;    // InternalInformation
  uint32_t ea_size = 0;         // EaInformation
  uint32_t access_flags = 0;    // AccessInformation
  uint64_t current_byte_offset = 0;  // PositionInformation
  uint32_t mode = 0;            // ModeInformation
  uint32_t alignment_requirement = 0;  // AlignmentInformation
  std::string file_name;        // NameInformation
  uint32_t file_name_length = 0;  // as on the wire (may exceed the bytes present when truncated)
};
// MS-FSCC 2.4.6
struct FileAttributeTagInformation {
  uint32_t file_attributes = 0;
  uint32_t reparse_tag = 0;
};
// MS-FSCC 2.4.9
struct FileCompressionInformation {
  uint64_t compressed_file_size = 0;
  uint16_t compression_format = 0;
  uint8_t compression_unit_shift = 0;
  uint8_t chunk_shift = 0;
  uint8_t cluster_shift = 0;
};
// MS-FSCC 2.4.23
struct FileIdInformation {
  uint64_t volume_serial_number = 0;
  std::array<uint8_t, 16> file_id{};
};
// MS-FSCC 2.4.37
struct FilePipeInformation {
  uint32_t read_mode = 0;
  uint32_t completion_mode = 0;
};
// MS-FSCC 2.4.38
struct FilePipeLocalInformation {
  uint32_t named_pipe_type = 0;
  uint32_t named_pipe_configuration = 0;
  uint32_t maximum_instances = 0;
  uint32_t current_instances = 0;
  uint32_t inbound_quota = 0;
  uint32_t read_data_available = 0;
  uint32_t outbound_quota = 0;
  uint32_t write_quota_available = 0;
  uint32_t named_pipe_state = 0;
  uint32_t named_pipe_end = 0;
};
// One element of MS-FSCC 2.4.49 FileStreamInformation. `name` is the full stream name as on the
// wire, e.g. "::$DATA" or ":foo:$DATA".
struct StreamInfo {
  std::string name;
  uint64_t size = 0;
  uint64_t allocation_size = 0;
  bool operator==(const StreamInfo&) const = default;
};
// MS-FSCC 2.4.42.2 FILE_RENAME_INFORMATION_TYPE_2 (the SMB2 form) and 2.4.27.2
// FILE_LINK_INFORMATION_TYPE_2 share this layout.
struct FileRenameInformation {
  uint8_t replace_if_exists = 0;
  uint64_t root_directory = 0;
  std::string file_name;
};
using FileLinkInformation = FileRenameInformation;
// One element of MS-FSCC 2.4.15 FileFullEaInformation.
struct FullEaInformation {
  uint8_t flags = 0;  // FILE_NEED_EA 0x80
  std::string ea_name;
  Bytes ea_value;
  bool operator==(const FullEaInformation&) const = default;
};

// Fixed sizes (bytes) of the fixed-length classes.
inline constexpr size_t kFileBasicInformationSize = 40;
inline constexpr size_t kFileStandardInformationSize = 24;
inline constexpr size_t kFileNetworkOpenInformationSize = 56;
inline constexpr size_t kFileAllInformationFixedSize = 100;  // up to NameInformation.FileName

// ---- Server: query encoders ----
// Encodes `cls` from `fi` (and `open` for the per-open classes). FileNameInformation and
// FileNormalizedNameInformation use fi.name, FileAlternateNameInformation fi.short_name,
// FileAllInformation fi.name. STATUS_INVALID_INFO_CLASS for classes not derivable here
// (FileStreamInformation needs a stream list; set-only classes).
Result<Bytes> encodeFileInformation(uint8_t cls, const FileInfo& fi, const OpenInfo& open = {});
FileBasicInformation basicFrom(const FileInfo& fi);
FileStandardInformation standardFrom(const FileInfo& fi);
FileNetworkOpenInformation networkOpenFrom(const FileInfo& fi);

Bytes encodeFileBasicInformation(const FileBasicInformation& b);
Bytes encodeFileStandardInformation(const FileStandardInformation& s);
Bytes encodeFileInternalInformation(uint64_t index_number);
Bytes encodeFileEaInformation(uint32_t ea_size);
Bytes encodeFileAccessInformation(uint32_t access_flags);
Bytes encodeFilePositionInformation(uint64_t current_byte_offset);
Bytes encodeFileModeInformation(uint32_t mode);
Bytes encodeFileAlignmentInformation(uint32_t alignment_requirement);
// FileNameInformation, FileNormalizedNameInformation, FileAlternateNameInformation and
// FileShortNameInformation all share FILE_NAME_INFORMATION (MS-FSCC 2.1.7).
Bytes encodeFileNameInformation(std::string_view name);
Bytes encodeFileAllInformation(const FileAllInformation& a);
Bytes encodeFileAllInformation(const FileInfo& fi, uint32_t access_flags, uint64_t position,
                               uint32_t mode, std::string_view name);
Bytes encodeFileNetworkOpenInformation(const FileNetworkOpenInformation& n);
Bytes encodeFileAttributeTagInformation(const FileAttributeTagInformation& t);
Bytes encodeFileCompressionInformation(const FileCompressionInformation& c);
Bytes encodeFileIdInformation(const FileIdInformation& i);
Bytes encodeFilePipeInformation(const FilePipeInformation& p);
Bytes encodeFilePipeLocalInformation(const FilePipeLocalInformation& p);
Bytes encodeFileStreamInformation(const std::vector<StreamInfo>& streams);

// ---- Client: query decoders (bounded; a short buffer is STATUS_INFO_LENGTH_MISMATCH) ----
Result<FileBasicInformation> decodeFileBasicInformation(ByteView in);
Result<FileStandardInformation> decodeFileStandardInformation(ByteView in);
Result<uint64_t> decodeFileInternalInformation(ByteView in);
Result<uint32_t> decodeFileEaInformation(ByteView in);
Result<uint32_t> decodeFileAccessInformation(ByteView in);
Result<uint32_t> decodeFileAlignmentInformation(ByteView in);
Result<std::string> decodeFileNameInformation(ByteView in);
Result<FileAllInformation> decodeFileAllInformation(ByteView in);
Result<FileNetworkOpenInformation> decodeFileNetworkOpenInformation(ByteView in);
Result<FileAttributeTagInformation> decodeFileAttributeTagInformation(ByteView in);
Result<FileCompressionInformation> decodeFileCompressionInformation(ByteView in);
Result<FileIdInformation> decodeFileIdInformation(ByteView in);
Result<FilePipeInformation> decodeFilePipeInformation(ByteView in);
Result<FilePipeLocalInformation> decodeFilePipeLocalInformation(ByteView in);
Result<std::vector<StreamInfo>> decodeFileStreamInformation(ByteView in);
// Decodes a query response of class `cls` into the matching FileInfo fields (client
// convenience; fields the class does not carry are left untouched).
Status mergeFileInformation(uint8_t cls, ByteView in, FileInfo& fi);

// ---- Set-info: decoders for the server (with validation), encoders for the client ----
// Times: 0 = leave unchanged, -1/-2 = MS-FSA 2.1.5.15.1 special values, < -2 invalid.
// (decodeFileBasicInformation above is shared and applies that check.)
Result<FileRenameInformation> decodeFileRenameInformation(ByteView in);
Result<FileLinkInformation> decodeFileLinkInformation(ByteView in);
Result<bool> decodeFileDispositionInformation(ByteView in);
Result<uint32_t> decodeFileDispositionInformationEx(ByteView in);
Result<uint64_t> decodeFileEndOfFileInformation(ByteView in);
Result<uint64_t> decodeFileAllocationInformation(ByteView in);
Result<uint64_t> decodeFilePositionInformation(ByteView in);
Result<uint32_t> decodeFileModeInformation(ByteView in);
Result<uint64_t> decodeFileValidDataLengthInformation(ByteView in);
Result<std::string> decodeFileShortNameInformation(ByteView in);
Result<std::vector<FullEaInformation>> decodeFileFullEaInformation(ByteView in);

Bytes encodeFileRenameInformation(const FileRenameInformation& r);
Bytes encodeFileLinkInformation(const FileLinkInformation& l);
Bytes encodeFileDispositionInformation(bool delete_pending);
Bytes encodeFileDispositionInformationEx(uint32_t flags);
Bytes encodeFileEndOfFileInformation(uint64_t end_of_file);
Bytes encodeFileAllocationInformation(uint64_t allocation_size);
Bytes encodeFileValidDataLengthInformation(uint64_t valid_data_length);
Bytes encodeFileFullEaInformation(const std::vector<FullEaInformation>& eas);

}  // namespace sd::fscc
