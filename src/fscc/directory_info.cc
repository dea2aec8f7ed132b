// Directory entries are described by one layout table, so encoder and decoder cannot disagree
// about where a field sits. Offsets are from the start of the entry; -1 means "not present".
#include "fscc/directory_info.h"

#include <algorithm>

#include "base/text.h"

namespace sd::fscc {

namespace {

struct Layout {
  uint8_t info_class;
  uint16_t fixed;         // offset of FileName
  bool has_times;         // FileIndex..FileAttributes at 4..56, FileNameLength at 60
  int16_t ea_size;        // EaSize
  int16_t reparse_tag;    // ReparsePointTag
  int16_t short_name;     // ShortNameLength (u8), Reserved (u8), ShortName (24 bytes)
  int16_t file_id64;      // FileId (8 bytes)
  int16_t file_id128;     // FileId (16 bytes, FILE_ID_128)
};

// MS-FSCC 2.4 directory information classes.
constexpr Layout kLayouts[] = {
    // FileDirectoryInformation
    {kFileDirectoryInformation, 64, true, -1, -1, -1, -1, -1},
    // FileFullDirectoryInformation
    {kFileFullDirectoryInformation, 68, true, 64, -1, -1, -1, -1},
    // FileBothDirectoryInformation
    {kFileBothDirectoryInformation, 94, true, 64, -1, 68, -1, -1},
    // FileNamesInformation: NextEntryOffset, FileIndex, FileNameLength, FileName
    {kFileNamesInformation, 12, false, -1, -1, -1, -1, -1},
    // FileIdBothDirectoryInformation: ..., ShortName, Reserved2 (2), FileId (8)
    {kFileIdBothDirectoryInformation, 104, true, 64, -1, 68, 96, -1},
    // FileIdFullDirectoryInformation: ..., EaSize, Reserved (4), FileId (8)
    {kFileIdFullDirectoryInformation, 80, true, 64, -1, -1, 72, -1},
    // FileIdExtdDirectoryInformation: ..., EaSize, ReparsePointTag, FileId (16)
    {kFileIdExtdDirectoryInformation, 88, true, 64, 68, -1, -1, 72},
    // FileIdExtdBothDirectoryInformation: ..., FileId (16), ShortNameLength, Reserved, ShortName
    {kFileIdExtdBothDirectoryInformation, 114, true, 64, 68, 88, -1, 72},
    // FileId64ExtdDirectoryInformation: ..., EaSize, ReparsePointTag, FileId (8)
    {kFileId64ExtdDirectoryInformation, 80, true, 64, 68, -1, 72, -1},
    // FileId64ExtdBothDirectoryInformation: ..., FileId (8), ShortNameLength, Reserved, ShortName
    {kFileId64ExtdBothDirectoryInformation, 106, true, 64, 68, 80, 72, -1},
    // FileIdAllExtdDirectoryInformation: ..., FileId (8), FileId128 (16)
    {kFileIdAllExtdDirectoryInformation, 96, true, 64, 68, -1, 72, 80},
    // FileIdAllExtdBothDirectoryInformation: ..., FileId128 (16), ShortNameLength, ..., ShortName
    {kFileIdAllExtdBothDirectoryInformation, 122, true, 64, 68, 96, 72, 80},
};

const Layout* layoutFor(uint8_t info_class) {
  for (const auto& l : kLayouts)
    if (l.info_class == info_class) return &l;
  return nullptr;
}

constexpr size_t kShortNameBytes = 24;  // ShortName is 12 WCHARs

size_t align8(size_t n) { return (n + 7) & ~size_t(7); }

// Classes without ReparsePointTag carry the tag in EaSize for reparse points (MS-FSCC 2.4:
// "If FILE_ATTRIBUTE_REPARSE_POINT is set in FileAttributes, EaSize contains the reparse tag").
uint32_t eaSizeField(const Layout& l, const FileInfo& fi) {
  if (l.reparse_tag < 0 && (fi.file_attributes & kFileAttributeReparsePoint)) return fi.reparse_tag;
  return fi.ea_size;
}

}  // namespace

bool isDirectoryInfoClass(uint8_t info_class) { return layoutFor(info_class) != nullptr; }

size_t directoryEntryFixedSize(uint8_t info_class) {
  const Layout* l = layoutFor(info_class);
  return l ? l->fixed : 0;
}

size_t directoryEntrySize(uint8_t info_class, const FileInfo& fi) {
  const Layout* l = layoutFor(info_class);
  if (!l) return 0;
  return l->fixed + utf16le(fi.name).size();
}

DirectoryEntryWriter::DirectoryEntryWriter(Bytes& out, uint8_t info_class, uint32_t max_len)
    : out_(out), info_class_(info_class), max_len_(max_len), base_(out.size()) {}

Status DirectoryEntryWriter::status() const {
  if (!isDirectoryInfoClass(info_class_))
    return err(NtStatus::kInvalidInfoClass, "not a directory information class");
  return ok();
}

bool DirectoryEntryWriter::add(const FileInfo& fi) {
  const Layout* l = layoutFor(info_class_);
  if (!l) return false;
  Bytes name = utf16le(fi.name);
  size_t entry_size = l->fixed + name.size();
  size_t start = count_ == 0 ? 0 : align8(size());
  if (start > max_len_ || entry_size > max_len_ - start) return false;

  Bytes e(entry_size, 0);
  uint8_t* p = e.data();
  // NextEntryOffset stays 0 until another entry follows.
  store32(p + 4, fi.file_index);
  if (l->has_times) {
    store64(p + 8, fi.creation_time);
    store64(p + 16, fi.last_access_time);
    store64(p + 24, fi.last_write_time);
    store64(p + 32, fi.change_time);
    store64(p + 40, fi.end_of_file);
    store64(p + 48, fi.allocation_size);
    store32(p + 56, fi.file_attributes);
    store32(p + 60, uint32_t(name.size()));
  } else {
    store32(p + 8, uint32_t(name.size()));
  }
  if (l->ea_size >= 0) store32(p + l->ea_size, eaSizeField(*l, fi));
  if (l->reparse_tag >= 0) store32(p + l->reparse_tag, fi.reparse_tag);
  if (l->short_name >= 0) {
    Bytes sn = utf16le(fi.short_name);
    if (sn.size() > kShortNameBytes) sn.clear();  // not an 8.3 name: report none
    p[l->short_name] = uint8_t(sn.size());
    std::copy(sn.begin(), sn.end(), p + l->short_name + 2);
  }
  if (l->file_id64 >= 0) store64(p + l->file_id64, fi.file_id);
  if (l->file_id128 >= 0) store64(p + l->file_id128, fi.file_id);  // high 8 bytes stay zero
  std::copy(name.begin(), name.end(), p + l->fixed);

  out_.resize(base_ + start, 0);  // alignment padding, zeroed
  if (count_ > 0) store32(out_.data() + base_ + last_entry_, uint32_t(start - last_entry_));
  out_.insert(out_.end(), e.begin(), e.end());
  last_entry_ = start;
  count_++;
  return true;
}

Result<std::vector<FileInfo>> decodeDirectoryEntries(uint8_t info_class, ByteView in) {
  const Layout* l = layoutFor(info_class);
  if (!l) return err(NtStatus::kInvalidInfoClass, "not a directory information class");
  std::vector<FileInfo> out;
  ByteReader whole(in);
  size_t pos = 0;
  // Every entry consumes at least l->fixed (>= 12) bytes, so this bound is never the limiter
  // for valid input; it only documents termination.
  for (size_t n = 0; n <= in.size() / l->fixed; n++) {
    auto entry_view = SD_TRY(whole.slice(pos, l->fixed));
    const uint8_t* p = entry_view.data();
    uint32_t next = le32(p);
    FileInfo fi;
    fi.file_index = le32(p + 4);
    uint32_t name_len;
    if (l->has_times) {
      fi.creation_time = le64(p + 8);
      fi.last_access_time = le64(p + 16);
      fi.last_write_time = le64(p + 24);
      fi.change_time = le64(p + 32);
      fi.end_of_file = le64(p + 40);
      fi.allocation_size = le64(p + 48);
      fi.file_attributes = le32(p + 56);
      fi.directory = fi.file_attributes & kFileAttributeDirectory;
      name_len = le32(p + 60);
    } else {
      name_len = le32(p + 8);
    }
    if (l->ea_size >= 0) {
      uint32_t v = le32(p + l->ea_size);
      if (l->reparse_tag < 0 && (fi.file_attributes & kFileAttributeReparsePoint))
        fi.reparse_tag = v;
      else
        fi.ea_size = v;
    }
    if (l->reparse_tag >= 0) fi.reparse_tag = le32(p + l->reparse_tag);
    if (l->short_name >= 0) {
      uint8_t sn_len = p[l->short_name];
      if (sn_len > kShortNameBytes) return malformed("ShortNameLength > 24");
      fi.short_name = SD_TRY(utf16leToUtf8(entry_view.subspan(l->short_name + 2, sn_len)));
    }
    if (l->file_id64 >= 0) fi.file_id = le64(p + l->file_id64);
    else if (l->file_id128 >= 0) fi.file_id = le64(p + l->file_id128);
    auto name = SD_TRY(whole.slice(uint64_t(pos) + l->fixed, name_len));
    fi.name = SD_TRY(utf16leToUtf8(name));
    out.push_back(std::move(fi));
    if (next == 0) return out;
    if (next < uint64_t(l->fixed) + name_len) return malformed("NextEntryOffset overlaps entry");
    if (next > in.size() - pos) return malformed("NextEntryOffset past end");
    pos += next;
  }
  return malformed("too many directory entries");
}

}  // namespace sd::fscc
