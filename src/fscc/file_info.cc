// File information classes: fixed layouts straight from the MS-FSCC 2.4 tables. Short input is
// STATUS_INFO_LENGTH_MISMATCH (MS-FSA 2.1.5.14/2.1.5.15: "InputBufferSize is less than the size
// of ..."), bad values STATUS_INVALID_PARAMETER.
#include "fscc/file_info.h"

#include <algorithm>

#include "base/text.h"

namespace sd::fscc {

namespace {

Error lengthMismatch(const char* what) { return err(NtStatus::kInfoLengthMismatch, what); }

Status need(ByteView in, size_t n, const char* what) {
  if (in.size() < n) return lengthMismatch(what);
  return ok();
}

// FILETIME values in set requests: 0 and -1/-2 are special (MS-FSA 2.1.5.15.1); anything below
// -2 is invalid.
bool validSetTime(uint64_t t) { return int64_t(t) >= -2; }

void putBasic(ByteWriter& w, const FileBasicInformation& b) {
  w.u64(b.creation_time);
  w.u64(b.last_access_time);
  w.u64(b.last_write_time);
  w.u64(b.change_time);
  w.u32(b.file_attributes);
  w.u32(0);  // Reserved
}

void putStandard(ByteWriter& w, const FileStandardInformation& s) {
  w.u64(s.allocation_size);
  w.u64(s.end_of_file);
  w.u32(s.number_of_links);
  w.u8(s.delete_pending ? 1 : 0);
  w.u8(s.directory ? 1 : 0);
  w.u16(0);  // Reserved
}

Result<FileBasicInformation> readBasic(ByteReader& r) {
  FileBasicInformation b;
  b.creation_time = SD_TRY(r.u64());
  b.last_access_time = SD_TRY(r.u64());
  b.last_write_time = SD_TRY(r.u64());
  b.change_time = SD_TRY(r.u64());
  b.file_attributes = SD_TRY(r.u32());
  SD_CHECK(r.skip(4));
  return b;
}

Result<FileStandardInformation> readStandard(ByteReader& r) {
  FileStandardInformation s;
  s.allocation_size = SD_TRY(r.u64());
  s.end_of_file = SD_TRY(r.u64());
  s.number_of_links = SD_TRY(r.u32());
  s.delete_pending = SD_TRY(r.u8()) != 0;
  s.directory = SD_TRY(r.u8()) != 0;
  SD_CHECK(r.skip(2));
  return s;
}

Bytes u32Only(uint32_t v) {
  ByteWriter w;
  w.u32(v);
  return w.take();
}
Bytes u64Only(uint64_t v) {
  ByteWriter w;
  w.u64(v);
  return w.take();
}
Result<uint32_t> readU32Only(ByteView in, const char* what) {
  SD_CHECK(need(in, 4, what));
  return le32(in.data());
}
Result<uint64_t> readU64Only(ByteView in, const char* what) {
  SD_CHECK(need(in, 8, what));
  return le64(in.data());
}
// A non-negative LARGE_INTEGER in a set request (EndOfFile, AllocationSize, position, VDL).
Result<uint64_t> readNonNegative(ByteView in, const char* what) {
  uint64_t v = SD_TRY(readU64Only(in, what));
  if (int64_t(v) < 0) return err(NtStatus::kInvalidParameter, what);
  return v;
}

}  // namespace

FileBasicInformation basicFrom(const FileInfo& fi) {
  return {fi.creation_time, fi.last_access_time, fi.last_write_time, fi.change_time,
          fi.file_attributes};
}
FileStandardInformation standardFrom(const FileInfo& fi) {
  return {fi.allocation_size, fi.end_of_file, fi.number_of_links, fi.delete_pending,
          fi.directory};
}
FileNetworkOpenInformation networkOpenFrom(const FileInfo& fi) {
  return {fi.creation_time, fi.last_access_time, fi.last_write_time, fi.change_time,
          fi.allocation_size, fi.end_of_file, fi.file_attributes};
}

// MS-FSCC 2.4.7 FileBasicInformation
Bytes encodeFileBasicInformation(const FileBasicInformation& b) {
  ByteWriter w;
  putBasic(w, b);
  return w.take();
}
// MS-FSCC 2.4.47 FileStandardInformation
Bytes encodeFileStandardInformation(const FileStandardInformation& s) {
  ByteWriter w;
  putStandard(w, s);
  return w.take();
}
// MS-FSCC 2.4.25 FileInternalInformation
Bytes encodeFileInternalInformation(uint64_t index_number) { return u64Only(index_number); }
// MS-FSCC 2.4.13 FileEaInformation
Bytes encodeFileEaInformation(uint32_t ea_size) { return u32Only(ea_size); }
// MS-FSCC 2.4.1 FileAccessInformation
Bytes encodeFileAccessInformation(uint32_t access_flags) { return u32Only(access_flags); }
// MS-FSCC 2.4.40 FilePositionInformation
Bytes encodeFilePositionInformation(uint64_t pos) { return u64Only(pos); }
// MS-FSCC 2.4.31 FileModeInformation
Bytes encodeFileModeInformation(uint32_t mode) { return u32Only(mode); }
// MS-FSCC 2.4.3 FileAlignmentInformation
Bytes encodeFileAlignmentInformation(uint32_t a) { return u32Only(a); }

// MS-FSCC 2.1.7 FILE_NAME_INFORMATION: FileNameLength (4), FileName (variable, UTF-16LE)
Bytes encodeFileNameInformation(std::string_view name) {
  ByteWriter w;
  Bytes n = utf16le(name);
  w.u32(uint32_t(n.size()));
  w.bytes(n);
  return w.take();
}

// MS-FSCC 2.4.2 FileAllInformation: Basic, Standard, Internal, Ea, Access, Position, Mode,
// Alignment, Name.
Bytes encodeFileAllInformation(const FileAllInformation& a) {
  ByteWriter w;
  putBasic(w, a.basic);
  putStandard(w, a.standard);
  w.u64(a.index_number);
  w.u32(a.ea_size);
  w.u32(a.access_flags);
  w.u64(a.current_byte_offset);
  w.u32(a.mode);
  w.u32(a.alignment_requirement);
  Bytes n = utf16le(a.file_name);
  w.u32(uint32_t(n.size()));
  w.bytes(n);
  return w.take();
}

Bytes encodeFileAllInformation(const FileInfo& fi, uint32_t access_flags, uint64_t position,
                               uint32_t mode, std::string_view name) {
  FileAllInformation a;
  a.basic = basicFrom(fi);
  a.standard = standardFrom(fi);
  a.index_number = fi.file_id;
  a.ea_size = fi.ea_size;
  a.access_flags = access_flags;
  a.current_byte_offset = position;
  a.mode = mode;
  a.file_name = std::string(name);
  return encodeFileAllInformation(a);
}

// MS-FSCC 2.4.34 FileNetworkOpenInformation
Bytes encodeFileNetworkOpenInformation(const FileNetworkOpenInformation& n) {
  ByteWriter w;
  w.u64(n.creation_time);
  w.u64(n.last_access_time);
  w.u64(n.last_write_time);
  w.u64(n.change_time);
  w.u64(n.allocation_size);
  w.u64(n.end_of_file);
  w.u32(n.file_attributes);
  w.u32(0);  // Reserved
  return w.take();
}

// MS-FSCC 2.4.6 FileAttributeTagInformation
Bytes encodeFileAttributeTagInformation(const FileAttributeTagInformation& t) {
  ByteWriter w;
  w.u32(t.file_attributes);
  w.u32(t.reparse_tag);
  return w.take();
}

// MS-FSCC 2.4.9 FileCompressionInformation
Bytes encodeFileCompressionInformation(const FileCompressionInformation& c) {
  ByteWriter w;
  w.u64(c.compressed_file_size);
  w.u16(c.compression_format);
  w.u8(c.compression_unit_shift);
  w.u8(c.chunk_shift);
  w.u8(c.cluster_shift);
  w.zeros(3);  // Reserved
  return w.take();
}

// MS-FSCC 2.4.23 FileIdInformation
Bytes encodeFileIdInformation(const FileIdInformation& i) {
  ByteWriter w;
  w.u64(i.volume_serial_number);
  w.bytes(ByteView(i.file_id.data(), i.file_id.size()));
  return w.take();
}

// MS-FSCC 2.4.37 FilePipeInformation
Bytes encodeFilePipeInformation(const FilePipeInformation& p) {
  ByteWriter w;
  w.u32(p.read_mode);
  w.u32(p.completion_mode);
  return w.take();
}

// MS-FSCC 2.4.38 FilePipeLocalInformation
Bytes encodeFilePipeLocalInformation(const FilePipeLocalInformation& p) {
  ByteWriter w;
  for (uint32_t v : {p.named_pipe_type, p.named_pipe_configuration, p.maximum_instances,
                     p.current_instances, p.inbound_quota, p.read_data_available,
                     p.outbound_quota, p.write_quota_available, p.named_pipe_state,
                     p.named_pipe_end})
    w.u32(v);
  return w.take();
}

// MS-FSCC 2.4.49 FileStreamInformation: NextEntryOffset, StreamNameLength, StreamSize,
// StreamAllocationSize, StreamName; entries 8-byte aligned, no padding after the last.
Bytes encodeFileStreamInformation(const std::vector<StreamInfo>& streams) {
  ByteWriter w;
  size_t last = 0;
  for (size_t i = 0; i < streams.size(); i++) {
    if (i > 0) {
      w.align(8);
      w.put32(last, uint32_t(w.size() - last));
    }
    last = w.size();
    Bytes n = utf16le(streams[i].name);
    w.u32(0);
    w.u32(uint32_t(n.size()));
    w.u64(streams[i].size);
    w.u64(streams[i].allocation_size);
    w.bytes(n);
  }
  return w.take();
}

Result<Bytes> encodeFileInformation(uint8_t cls, const FileInfo& fi, const OpenInfo& open) {
  switch (cls) {
    case kFileBasicInformation:
      return encodeFileBasicInformation(basicFrom(fi));
    case kFileStandardInformation:
      return encodeFileStandardInformation(standardFrom(fi));
    case kFileInternalInformation:
      return encodeFileInternalInformation(fi.file_id);
    case kFileEaInformation:
      return encodeFileEaInformation(fi.ea_size);
    case kFileAccessInformation:
      return encodeFileAccessInformation(open.access_flags);
    case kFileNameInformation:
    case kFileNormalizedNameInformation:
      return encodeFileNameInformation(fi.name);
    case kFilePositionInformation:
      return encodeFilePositionInformation(open.current_byte_offset);
    case kFileModeInformation:
      return encodeFileModeInformation(open.mode);
    case kFileAlignmentInformation:
      return encodeFileAlignmentInformation(open.alignment_requirement);
    case kFileAllInformation: {
      Bytes b = encodeFileAllInformation(fi, open.access_flags, open.current_byte_offset,
                                         open.mode, fi.name);
      store32(b.data() + 92, open.alignment_requirement);
      return b;
    }
    case kFileAlternateNameInformation:
      return encodeFileNameInformation(fi.short_name);
    case kFileCompressionInformation: {
      FileCompressionInformation c;
      c.compressed_file_size = fi.end_of_file;  // COMPRESSION_FORMAT_NONE: the file size
      return encodeFileCompressionInformation(c);
    }
    case kFileNetworkOpenInformation:
      return encodeFileNetworkOpenInformation(networkOpenFrom(fi));
    case kFileAttributeTagInformation:
      return encodeFileAttributeTagInformation({fi.file_attributes, fi.reparse_tag});
    case kFileIdInformation: {
      FileIdInformation i;
      i.volume_serial_number = fi.volume_serial_number;
      store64(i.file_id.data(), fi.file_id);
      return encodeFileIdInformation(i);
    }
    default:
      return err(NtStatus::kInvalidInfoClass, "file info class not encodable from FileInfo");
  }
}

// ---- decoders ----

Result<FileBasicInformation> decodeFileBasicInformation(ByteView in) {
  SD_CHECK(need(in, kFileBasicInformationSize, "FileBasicInformation"));
  ByteReader r(in);
  auto b = SD_TRY(readBasic(r));
  for (uint64_t t : {b.creation_time, b.last_access_time, b.last_write_time, b.change_time})
    if (!validSetTime(t)) return err(NtStatus::kInvalidParameter, "FILETIME below -2");
  return b;
}

Result<FileStandardInformation> decodeFileStandardInformation(ByteView in) {
  SD_CHECK(need(in, kFileStandardInformationSize, "FileStandardInformation"));
  ByteReader r(in);
  return readStandard(r);
}

Result<uint64_t> decodeFileInternalInformation(ByteView in) {
  return readU64Only(in, "FileInternalInformation");
}
Result<uint32_t> decodeFileEaInformation(ByteView in) {
  return readU32Only(in, "FileEaInformation");
}
Result<uint32_t> decodeFileAccessInformation(ByteView in) {
  return readU32Only(in, "FileAccessInformation");
}
Result<uint32_t> decodeFileAlignmentInformation(ByteView in) {
  return readU32Only(in, "FileAlignmentInformation");
}

Result<std::string> decodeFileNameInformation(ByteView in) {
  SD_CHECK(need(in, 4, "FileNameInformation"));
  ByteReader r(in);
  uint32_t len = SD_TRY(r.u32());
  auto name = SD_TRY(r.slice(4, len));
  return utf16leToUtf8(name);
}

Result<FileAllInformation> decodeFileAllInformation(ByteView in) {
  SD_CHECK(need(in, kFileAllInformationFixedSize, "FileAllInformation"));
  ByteReader r(in);
  FileAllInformation a;
  a.basic = SD_TRY(readBasic(r));
  a.standard = SD_TRY(readStandard(r));
  a.index_number = SD_TRY(r.u64());
  a.ea_size = SD_TRY(r.u32());
  a.access_flags = SD_TRY(r.u32());
  a.current_byte_offset = SD_TRY(r.u64());
  a.mode = SD_TRY(r.u32());
  a.alignment_requirement = SD_TRY(r.u32());
  a.file_name_length = SD_TRY(r.u32());
  // A response truncated with STATUS_BUFFER_OVERFLOW carries fewer name bytes than
  // FileNameLength says: take what is there (whole UTF-16 units).
  size_t have = std::min<size_t>(a.file_name_length, r.remaining()) & ~size_t(1);
  auto name = SD_TRY(r.bytes(have));
  a.file_name = SD_TRY(utf16leToUtf8(name));
  return a;
}

Result<FileNetworkOpenInformation> decodeFileNetworkOpenInformation(ByteView in) {
  SD_CHECK(need(in, kFileNetworkOpenInformationSize, "FileNetworkOpenInformation"));
  ByteReader r(in);
  FileNetworkOpenInformation n;
  n.creation_time = SD_TRY(r.u64());
  n.last_access_time = SD_TRY(r.u64());
  n.last_write_time = SD_TRY(r.u64());
  n.change_time = SD_TRY(r.u64());
  n.allocation_size = SD_TRY(r.u64());
  n.end_of_file = SD_TRY(r.u64());
  n.file_attributes = SD_TRY(r.u32());
  return n;
}

Result<FileAttributeTagInformation> decodeFileAttributeTagInformation(ByteView in) {
  SD_CHECK(need(in, 8, "FileAttributeTagInformation"));
  return FileAttributeTagInformation{le32(in.data()), le32(in.data() + 4)};
}

Result<FileCompressionInformation> decodeFileCompressionInformation(ByteView in) {
  SD_CHECK(need(in, 16, "FileCompressionInformation"));
  FileCompressionInformation c;
  c.compressed_file_size = le64(in.data());
  c.compression_format = le16(in.data() + 8);
  c.compression_unit_shift = in[10];
  c.chunk_shift = in[11];
  c.cluster_shift = in[12];
  return c;
}

Result<FileIdInformation> decodeFileIdInformation(ByteView in) {
  SD_CHECK(need(in, 24, "FileIdInformation"));
  FileIdInformation i;
  i.volume_serial_number = le64(in.data());
  std::copy(in.begin() + 8, in.begin() + 24, i.file_id.begin());
  return i;
}

Result<FilePipeInformation> decodeFilePipeInformation(ByteView in) {
  SD_CHECK(need(in, 8, "FilePipeInformation"));
  return FilePipeInformation{le32(in.data()), le32(in.data() + 4)};
}

Result<FilePipeLocalInformation> decodeFilePipeLocalInformation(ByteView in) {
  SD_CHECK(need(in, 40, "FilePipeLocalInformation"));
  const uint8_t* p = in.data();
  FilePipeLocalInformation l;
  l.named_pipe_type = le32(p);
  l.named_pipe_configuration = le32(p + 4);
  l.maximum_instances = le32(p + 8);
  l.current_instances = le32(p + 12);
  l.inbound_quota = le32(p + 16);
  l.read_data_available = le32(p + 20);
  l.outbound_quota = le32(p + 24);
  l.write_quota_available = le32(p + 28);
  l.named_pipe_state = le32(p + 32);
  l.named_pipe_end = le32(p + 36);
  return l;
}

Result<std::vector<StreamInfo>> decodeFileStreamInformation(ByteView in) {
  std::vector<StreamInfo> out;
  if (in.empty()) return out;  // a file with no streams (a directory) returns nothing
  ByteReader whole(in);
  size_t pos = 0;
  for (size_t n = 0; n <= in.size() / 24; n++) {
    auto e = SD_TRY(whole.slice(pos, 24));
    uint32_t next = le32(e.data());
    uint32_t name_len = le32(e.data() + 4);
    StreamInfo s;
    s.size = le64(e.data() + 8);
    s.allocation_size = le64(e.data() + 16);
    auto name = SD_TRY(whole.slice(uint64_t(pos) + 24, name_len));
    s.name = SD_TRY(utf16leToUtf8(name));
    out.push_back(std::move(s));
    if (next == 0) return out;
    if (next < 24ull + name_len) return malformed("NextEntryOffset overlaps stream entry");
    if (next > in.size() - pos) return malformed("NextEntryOffset past end");
    pos += next;
  }
  return malformed("too many stream entries");
}

Status mergeFileInformation(uint8_t cls, ByteView in, FileInfo& fi) {
  auto setBasic = [&](const FileBasicInformation& b) {
    fi.creation_time = b.creation_time;
    fi.last_access_time = b.last_access_time;
    fi.last_write_time = b.last_write_time;
    fi.change_time = b.change_time;
    fi.file_attributes = b.file_attributes;
  };
  auto setStandard = [&](const FileStandardInformation& s) {
    fi.allocation_size = s.allocation_size;
    fi.end_of_file = s.end_of_file;
    fi.number_of_links = s.number_of_links;
    fi.delete_pending = s.delete_pending;
    fi.directory = s.directory;
  };
  switch (cls) {
    case kFileBasicInformation:
      setBasic(SD_TRY(decodeFileBasicInformation(in)));
      return ok();
    case kFileStandardInformation:
      setStandard(SD_TRY(decodeFileStandardInformation(in)));
      return ok();
    case kFileInternalInformation:
      fi.file_id = SD_TRY(decodeFileInternalInformation(in));
      return ok();
    case kFileEaInformation:
      fi.ea_size = SD_TRY(decodeFileEaInformation(in));
      return ok();
    case kFileNameInformation:
    case kFileNormalizedNameInformation:
      fi.name = SD_TRY(decodeFileNameInformation(in));
      return ok();
    case kFileAlternateNameInformation:
      fi.short_name = SD_TRY(decodeFileNameInformation(in));
      return ok();
    case kFileAllInformation: {
      auto a = SD_TRY(decodeFileAllInformation(in));
      setBasic(a.basic);
      setStandard(a.standard);
      fi.file_id = a.index_number;
      fi.ea_size = a.ea_size;
      fi.name = a.file_name;
      return ok();
    }
    case kFileNetworkOpenInformation: {
      auto n = SD_TRY(decodeFileNetworkOpenInformation(in));
      setBasic({n.creation_time, n.last_access_time, n.last_write_time, n.change_time,
                n.file_attributes});
      fi.allocation_size = n.allocation_size;
      fi.end_of_file = n.end_of_file;
      return ok();
    }
    case kFileAttributeTagInformation: {
      auto t = SD_TRY(decodeFileAttributeTagInformation(in));
      fi.file_attributes = t.file_attributes;
      fi.reparse_tag = t.reparse_tag;
      return ok();
    }
    case kFileIdInformation: {
      auto i = SD_TRY(decodeFileIdInformation(in));
      fi.volume_serial_number = i.volume_serial_number;
      fi.file_id = le64(i.file_id.data());
      return ok();
    }
    default:
      return err(NtStatus::kInvalidInfoClass, "file info class not mergeable");
  }
}

// ---- set-info ----

// MS-FSCC 2.4.42.2 FILE_RENAME_INFORMATION_TYPE_2: ReplaceIfExists (1), Reserved (7),
// RootDirectory (8), FileNameLength (4), FileName.
namespace {
Result<FileRenameInformation> decodeRenameLike(ByteView in, const char* what) {
  SD_CHECK(need(in, 20, what));
  ByteReader r(in);
  FileRenameInformation ri;
  ri.replace_if_exists = SD_TRY(r.u8());
  SD_CHECK(r.skip(7));
  ri.root_directory = SD_TRY(r.u64());
  uint32_t len = SD_TRY(r.u32());
  if (len == 0 || (len & 1)) return err(NtStatus::kInvalidParameter, "FileNameLength");
  auto name = r.slice(20, len);
  if (!name) return err(NtStatus::kInvalidParameter, "FileName outside buffer");
  auto s = utf16leToUtf8(*name);
  if (!s) return err(NtStatus::kObjectNameInvalid, "FileName not UTF-16");
  ri.file_name = std::move(*s);
  return ri;
}
Bytes encodeRenameLike(const FileRenameInformation& ri) {
  ByteWriter w;
  w.u8(ri.replace_if_exists);
  w.zeros(7);
  w.u64(ri.root_directory);
  Bytes n = utf16le(ri.file_name);
  w.u32(uint32_t(n.size()));
  w.bytes(n);
  return w.take();
}
}  // namespace

Result<FileRenameInformation> decodeFileRenameInformation(ByteView in) {
  return decodeRenameLike(in, "FileRenameInformation");
}
// MS-FSCC 2.4.27.2 FILE_LINK_INFORMATION_TYPE_2 (same layout)
Result<FileLinkInformation> decodeFileLinkInformation(ByteView in) {
  return decodeRenameLike(in, "FileLinkInformation");
}
Bytes encodeFileRenameInformation(const FileRenameInformation& r) { return encodeRenameLike(r); }
Bytes encodeFileLinkInformation(const FileLinkInformation& l) { return encodeRenameLike(l); }

// MS-FSCC 2.4.11 FileDispositionInformation: DeletePending (1)
Result<bool> decodeFileDispositionInformation(ByteView in) {
  SD_CHECK(need(in, 1, "FileDispositionInformation"));
  return in[0] != 0;
}
Bytes encodeFileDispositionInformation(bool delete_pending) {
  return Bytes{uint8_t(delete_pending ? 1 : 0)};
}

// MS-FSCC 2.4.12 FileDispositionInformationEx: Flags (4)
Result<uint32_t> decodeFileDispositionInformationEx(ByteView in) {
  uint32_t f = SD_TRY(readU32Only(in, "FileDispositionInformationEx"));
  constexpr uint32_t kKnown = kFileDispositionDelete | kFileDispositionPosixSemantics |
                              kFileDispositionForceImageSectionCheck | kFileDispositionOnClose |
                              kFileDispositionIgnoreReadonlyAttribute;
  if (f & ~kKnown) return err(NtStatus::kInvalidParameter, "disposition flags");
  return f;
}
Bytes encodeFileDispositionInformationEx(uint32_t flags) { return u32Only(flags); }

// MS-FSCC 2.4.14 FileEndOfFileInformation, 2.4.4 FileAllocationInformation,
// 2.4.40 FilePositionInformation, 2.4.51 FileValidDataLengthInformation: one LARGE_INTEGER.
Result<uint64_t> decodeFileEndOfFileInformation(ByteView in) {
  return readNonNegative(in, "FileEndOfFileInformation");
}
Result<uint64_t> decodeFileAllocationInformation(ByteView in) {
  return readNonNegative(in, "FileAllocationInformation");
}
Result<uint64_t> decodeFilePositionInformation(ByteView in) {
  return readNonNegative(in, "FilePositionInformation");
}
Result<uint64_t> decodeFileValidDataLengthInformation(ByteView in) {
  return readNonNegative(in, "FileValidDataLengthInformation");
}
Bytes encodeFileEndOfFileInformation(uint64_t v) { return u64Only(v); }
Bytes encodeFileAllocationInformation(uint64_t v) { return u64Only(v); }
Bytes encodeFileValidDataLengthInformation(uint64_t v) { return u64Only(v); }

// MS-FSCC 2.4.31 FileModeInformation; undefined bits are STATUS_INVALID_PARAMETER.
Result<uint32_t> decodeFileModeInformation(ByteView in) {
  uint32_t m = SD_TRY(readU32Only(in, "FileModeInformation"));
  constexpr uint32_t kKnown = kFileWriteThrough | kFileSequentialOnly |
                              kFileNoIntermediateBuffering | kFileSynchronousIoAlert |
                              kFileSynchronousIoNonalert | kFileDeleteOnClose;
  if (m & ~kKnown) return err(NtStatus::kInvalidParameter, "mode flags");
  return m;
}

// MS-FSCC 2.4.46 FileShortNameInformation: FILE_NAME_INFORMATION; a short name is at most 12
// characters.
Result<std::string> decodeFileShortNameInformation(ByteView in) {
  SD_CHECK(need(in, 4, "FileShortNameInformation"));
  uint32_t len = le32(in.data());
  if (len == 0 || len > 24 || (len & 1)) return err(NtStatus::kInvalidParameter, "short name");
  ByteReader r(in);
  auto name = r.slice(4, len);
  if (!name) return err(NtStatus::kInvalidParameter, "short name outside buffer");
  auto s = utf16leToUtf8(*name);
  if (!s) return err(NtStatus::kInvalidParameter, "short name not UTF-16");
  return std::move(*s);
}

// MS-FSCC 2.4.15 FileFullEaInformation: NextEntryOffset (4), Flags (1), EaNameLength (1),
// EaValueLength (2), EaName (EaNameLength + 1 with a terminating NUL), EaValue; entries 4-byte
// aligned.
Result<std::vector<FullEaInformation>> decodeFileFullEaInformation(ByteView in) {
  std::vector<FullEaInformation> out;
  SD_CHECK(need(in, 8, "FileFullEaInformation"));
  ByteReader whole(in);
  size_t pos = 0;
  for (size_t n = 0; n <= in.size() / 8; n++) {
    auto h = whole.slice(pos, 8);
    if (!h) return err(NtStatus::kInvalidParameter, "EA entry outside buffer");
    uint32_t next = le32(h->data());
    FullEaInformation ea;
    ea.flags = (*h)[4];
    uint8_t name_len = (*h)[5];
    uint16_t value_len = le16(h->data() + 6);
    size_t entry = 8 + size_t(name_len) + 1 + value_len;
    auto body = whole.slice(pos, entry);
    if (!body) return err(NtStatus::kInvalidParameter, "EA entry outside buffer");
    if ((*body)[8 + name_len] != 0) return err(NtStatus::kInvalidParameter, "EaName not NUL-terminated");
    if (name_len == 0) return err(NtStatus::kInvalidParameter, "empty EaName");
    ea.ea_name.assign(reinterpret_cast<const char*>(body->data() + 8), name_len);
    auto v = body->subspan(8 + name_len + 1, value_len);
    ea.ea_value.assign(v.begin(), v.end());
    out.push_back(std::move(ea));
    if (next == 0) return out;
    if (next < entry || next > in.size() - pos)
      return err(NtStatus::kInvalidParameter, "EA NextEntryOffset");
    pos += next;
  }
  return err(NtStatus::kInvalidParameter, "too many EA entries");
}

Bytes encodeFileFullEaInformation(const std::vector<FullEaInformation>& eas) {
  ByteWriter w;
  size_t last = 0;
  for (size_t i = 0; i < eas.size(); i++) {
    if (i > 0) {
      w.align(4);
      w.put32(last, uint32_t(w.size() - last));
    }
    last = w.size();
    const auto& ea = eas[i];
    size_t name_len = std::min<size_t>(ea.ea_name.size(), 255);
    size_t value_len = std::min<size_t>(ea.ea_value.size(), 65535);
    w.u32(0);
    w.u8(ea.flags);
    w.u8(uint8_t(name_len));
    w.u16(uint16_t(value_len));
    w.bytes(asBytes(std::string_view(ea.ea_name).substr(0, name_len)));
    w.u8(0);
    w.bytes(ByteView(ea.ea_value.data(), value_len));
  }
  return w.take();
}

}  // namespace sd::fscc
