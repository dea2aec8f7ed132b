// File operations: CREATE in its forms, CLOSE, directory listing, stat (a compound), security
// descriptors, CHANGE_NOTIFY, directory and name changes, SET_INFO, FLUSH and statfs.
#include <algorithm>

#include "client/client_internal.h"
#include "client/smb_client.h"
#include "fscc/fs_info.h"
#include "smb2/change_notify.h"
#include "smb2/close.h"
#include "smb2/lock.h"
#include "smb2/query_directory.h"
#include "smb2/query_info.h"
#include "smb2/set_info.h"

namespace sd::client {

using internal::wire;

// The fixed part of a CREATE request (MS-SMB2 2.2.13) as this client sends it.
smb2::CreateRequest SmbClient::createRequest(const std::string& path, uint32_t access, uint32_t disposition,
                                             uint32_t options, uint32_t share) const {
  smb2::CreateRequest q;
  q.impersonation_level = smb2::kImpersonationImpersonation;
  q.desired_access = access;
  q.share_access = share;
  q.create_disposition = disposition;
  q.create_options = options;
  q.name = wire(path);
  return q;
}

Result<smb2::FileId> SmbClient::open(const std::string& path, uint32_t access, uint32_t disposition,
                                     uint32_t options, uint32_t share) {
  return createWithSecurity(path, access, disposition, options, {}, share);
}

// CREATE (MS-SMB2 2.2.13); a non-empty descriptor goes in an SMB2_CREATE_SD_BUFFER context.
Result<smb2::FileId> SmbClient::createWithSecurity(const std::string& path, uint32_t access,
                                                   uint32_t disposition, uint32_t options,
                                                   ByteView descriptor, uint32_t share) {
  smb2::CreateRequest q = createRequest(path, access, disposition, options, share);
  std::vector<smb2::CreateContextOut> ctxs;
  if (!descriptor.empty()) ctxs.push_back({smb2::kCreateSdBuffer, Bytes(descriptor.begin(), descriptor.end())});
  auto m = SD_TRY(transact(smb2::Command::kCreate, [&](ByteWriter& w) { smb2::encodeCreateRequest(q, ctxs, w); }));
  auto r = SD_TRY(smb2::decodeCreateResponse(m));
  return r.file_id;
}

Status SmbClient::close(const smb2::FileId& f) {
  auto m = transact(smb2::Command::kClose, [&](ByteWriter& w) { smb2::encodeCloseRequest({0, f}, w); });
  return m ? ok() : Status(m.error());
}

Status SmbClient::lock(const smb2::FileId& f, uint64_t offset, uint64_t length, uint32_t flags) {
  smb2::LockRequest q;
  q.file_id = f;
  q.locks.push_back({offset, length, flags});
  auto m = transact(smb2::Command::kLock, [&](ByteWriter& w) { smb2::encodeLockRequest(q, w); });
  return m ? ok() : Status(m.error());
}

Result<std::vector<fscc::FileInfo>> SmbClient::list(const std::string& dir, const std::string& pattern) {
  auto f = SD_TRY(open(dir, smb2::kFileListDirectory | smb2::kFileReadAttributes | smb2::kSynchronize,
                       smb2::kFileOpen, smb2::kFileDirectoryFile));
  std::vector<fscc::FileInfo> out;
  Status result = ok();
  for (int guard = 0; guard < 100000; guard++) {
    smb2::QueryDirectoryRequest q;
    q.file_information_class = fscc::kFileIdBothDirectoryInformation;
    q.file_id = f;
    q.file_name = pattern;
    q.output_buffer_length = std::min<uint32_t>(info_.max_transact, 1 << 20);
    auto m = transact(smb2::Command::kQueryDirectory,
                      [&](ByteWriter& w) { smb2::encodeQueryDirectoryRequest(q, w); },
                      q.output_buffer_length);  // CreditCharge covers the response size
    if (!m) {
      if (m.status() != NtStatus::kNoMoreFiles && m.status() != NtStatus::kNoSuchFile) result = m.error();
      break;
    }
    auto r = smb2::decodeQueryDirectoryResponse(*m);
    if (!r) { result = r.error(); break; }
    auto entries = fscc::decodeDirectoryEntries(q.file_information_class, r->buffer);
    if (!entries) { result = entries.error(); break; }
    for (auto& e : *entries) out.push_back(std::move(e));
  }
  (void)close(f);
  if (!result) return result.error();
  return out;
}

Result<fscc::FileInfo> SmbClient::stat(const std::string& path) {
  // CREATE + QUERY_INFO + CLOSE in one round trip, as Windows and Linux clients do.
  smb2::CreateRequest cq = createRequest(path, smb2::kFileReadAttributes | smb2::kSynchronize, smb2::kFileOpen, 0, 7);
  smb2::FileId related{~0ull, ~0ull};  // "the file of the previous request" (MS-SMB2 3.2.4.1.4)
  smb2::QueryInfoRequest q;
  q.info_type = smb2::kInfoFile;
  q.file_info_class = fscc::kFileNetworkOpenInformation;
  q.output_buffer_length = 4096;
  q.file_id = related;
  auto rs = SD_TRY(compound({
      {smb2::Command::kCreate, [&](ByteWriter& w) { smb2::encodeCreateRequest(cq, {}, w); }},
      {smb2::Command::kQueryInfo, [&](ByteWriter& w) { smb2::encodeQueryInfoRequest(q, w); }},
      {smb2::Command::kClose, [&](ByteWriter& w) { smb2::encodeCloseRequest({0, related}, w); }},
  }));
  uint32_t st0 = le32(rs[0].data() + smb2::kOffStatus);
  if (st0) return err(NtStatus(st0), "CREATE");
  uint32_t st1 = le32(rs[1].data() + smb2::kOffStatus);
  if (st1) return err(NtStatus(st1), "QUERY_INFO");
  auto r = SD_TRY(smb2::decodeQueryInfoResponse(rs[1]));
  auto n = SD_TRY(fscc::decodeFileNetworkOpenInformation(r.buffer));
  fscc::FileInfo fi;
  auto slash = path.find_last_of("/\\");
  fi.name = slash == std::string::npos ? path : path.substr(slash + 1);
  fi.creation_time = n.creation_time;
  fi.last_access_time = n.last_access_time;
  fi.last_write_time = n.last_write_time;
  fi.change_time = n.change_time;
  fi.allocation_size = n.allocation_size;
  fi.end_of_file = n.end_of_file;
  fi.file_attributes = n.file_attributes;
  fi.directory = n.file_attributes & smb2::kFileAttributeDirectory;
  return fi;
}

Result<Bytes> SmbClient::querySecurity(const smb2::FileId& f, uint32_t security_information) {
  smb2::QueryInfoRequest q;
  q.info_type = smb2::kInfoSecurity;
  q.output_buffer_length = 65536;
  q.additional_information = security_information;
  q.file_id = f;
  auto m = SD_TRY(transact(smb2::Command::kQueryInfo, [&](ByteWriter& w) { smb2::encodeQueryInfoRequest(q, w); }));
  auto r = SD_TRY(smb2::decodeQueryInfoResponse(m));
  return Bytes(r.buffer.begin(), r.buffer.end());
}

Status SmbClient::setSecurity(const smb2::FileId& f, uint32_t security_information, ByteView descriptor) {
  return setInfo(f, smb2::kInfoSecurity, 0, security_information, descriptor);
}

Result<uint64_t> SmbClient::changeNotifySend(const smb2::FileId& dir, uint32_t completion_filter, bool watch_tree,
                                             uint32_t output_length) {
  smb2::ChangeNotifyRequest q;
  q.flags = watch_tree ? smb2::kWatchTree : 0;
  q.output_buffer_length = output_length;
  q.file_id = dir;
  q.completion_filter = completion_filter;
  uint64_t id;
  SD_CHECK(sendRequest(smb2::Command::kChangeNotify, [&](ByteWriter& w) { smb2::encodeChangeNotifyRequest(q, w); },
                       output_length, &id));
  return id;
}

Result<SmbClient::NotifyResult> SmbClient::changeNotifyWait(uint64_t message_id, int timeout_ms) {
  Bytes m;
  {
    std::unique_lock<std::mutex> lk(mu_);
    SD_CHECK(waitUntil(lk, [&] { return early_.count(message_id) != 0; }, timeout_ms));
    auto it = early_.find(message_id);
    Result<Bytes> got = std::move(it->second);
    early_.erase(it);
    if (!got) return got.error();
    m = std::move(*got);
  }
  NotifyResult out;
  out.status = NtStatus(le32(m.data() + smb2::kOffStatus));
  if (out.status == NtStatus::kSuccess) {
    auto resp = SD_TRY(smb2::decodeChangeNotifyResponse(m));
    out.changes = SD_TRY(fscc::decodeNotifyInformation(resp.buffer));
  }
  return out;
}

Status SmbClient::mkdir(const std::string& path) {
  auto f = SD_TRY(open(path, smb2::kFileReadAttributes | smb2::kSynchronize, smb2::kFileCreate, smb2::kFileDirectoryFile));
  return close(f);
}

Status SmbClient::rmdir(const std::string& path) {
  auto f = SD_TRY(open(path, smb2::kDelete | smb2::kFileReadAttributes, smb2::kFileOpen,
                       smb2::kFileDirectoryFile | smb2::kFileDeleteOnClose));
  return close(f);
}

Status SmbClient::unlink(const std::string& path) {
  auto f = SD_TRY(open(path, smb2::kDelete | smb2::kFileReadAttributes, smb2::kFileOpen,
                       smb2::kFileNonDirectoryFile | smb2::kFileDeleteOnClose));
  return close(f);
}

Status SmbClient::setInfo(const smb2::FileId& f, uint8_t cls, ByteView buf) {
  return setInfo(f, smb2::kInfoFile, cls, 0, buf);
}

// SET_INFO (MS-SMB2 2.2.39) of any InfoType.
Status SmbClient::setInfo(const smb2::FileId& f, uint8_t info_type, uint8_t cls, uint32_t additional, ByteView buf) {
  smb2::SetInfoRequest q;
  q.info_type = info_type;
  q.file_info_class = cls;
  q.additional_information = additional;
  q.buffer = buf;
  q.file_id = f;
  auto m = transact(smb2::Command::kSetInfo, [&](ByteWriter& w) { smb2::encodeSetInfoRequest(q, w); });
  return m ? ok() : Status(m.error());
}

Status SmbClient::rename(const std::string& from, const std::string& to, bool replace) {
  auto f = SD_TRY(open(from, smb2::kDelete | smb2::kFileReadAttributes | smb2::kSynchronize, smb2::kFileOpen, 0));
  fscc::FileRenameInformation ri;
  ri.replace_if_exists = replace;
  ri.file_name = wire(to);
  Status st = setInfo(f, fscc::kFileRenameInformation, fscc::encodeFileRenameInformation(ri));
  Status c = close(f);
  if (!st) return st;
  return c;
}

Status SmbClient::truncate(const smb2::FileId& f, uint64_t size) {
  return setInfo(f, fscc::kFileEndOfFileInformation, fscc::encodeFileEndOfFileInformation(size));
}

Status SmbClient::setTimes(const smb2::FileId& f, uint64_t access_ft, uint64_t write_ft) {
  fscc::FileBasicInformation b{};
  b.last_access_time = access_ft;
  b.last_write_time = write_ft;
  return setInfo(f, fscc::kFileBasicInformation, fscc::encodeFileBasicInformation(b));
}

Status SmbClient::flush(const smb2::FileId& f) {
  auto m = transact(smb2::Command::kFlush, [&](ByteWriter& w) {
    w.u16(24);
    w.u16(0);
    w.u32(0);
    smb2::writeFileId(w, f);
  });
  return m ? ok() : Status(m.error());
}

Result<SmbClient::FsSize> SmbClient::statfs() {
  auto f = SD_TRY(open("", smb2::kFileReadAttributes | smb2::kSynchronize, smb2::kFileOpen, smb2::kFileDirectoryFile));
  smb2::QueryInfoRequest q;
  q.info_type = smb2::kInfoFilesystem;
  q.file_info_class = fscc::kFileFsFullSizeInformation;
  q.output_buffer_length = 4096;
  q.file_id = f;
  auto m = transact(smb2::Command::kQueryInfo, [&](ByteWriter& w) { smb2::encodeQueryInfoRequest(q, w); });
  (void)close(f);
  if (!m) return m.error();
  auto r = SD_TRY(smb2::decodeQueryInfoResponse(*m));
  auto z = SD_TRY(fscc::decodeFsFullSizeInformation(r.buffer));
  FsSize out;
  out.total_units = z.total_allocation_units;
  out.free_units = z.actual_available_allocation_units;
  out.avail_units = z.caller_available_allocation_units;
  out.unit_bytes = z.sectors_per_allocation_unit * z.bytes_per_sector;
  return out;
}

}  // namespace sd::client
