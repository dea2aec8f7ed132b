// SET_INFO (MS-SMB2 3.3.5.21): basic (times, attributes), end-of-file, allocation, rename,
// disposition, position, mode, full EAs, and security descriptors (3.3.5.21.3): the parts named
// by AdditionalInformation are merged into the stored descriptor (server/access_check.h).
#include <algorithm>

#include "base/log.h"
#include "fscc/file_info.h"
#include "fscc/notify_info.h"
#include "fscc/security_descriptor.h"
#include "server/access_check.h"
#include "server/connection.h"
#include "server/directory_leases.h"
#include "server/file_info_util.h"
#include "smb2/constants.h"
#include "smb2/set_info.h"

namespace sd::server {

namespace {

Status setRename(Connection& c, Request& r, Open& open, ByteView buf) {
  auto ri = SD_TRY(fscc::decodeFileRenameInformation(buf));
  if (!(open.granted_access & smb2::kDelete)) return err(NtStatus::kAccessDenied, "rename needs DELETE");
  if (r.tree->read_only) return err(NtStatus::kAccessDenied, "read-only share");
  std::string target = ri.file_name;
  if (!target.empty() && target[0] == '\\') target.erase(0, 1);
  auto& fs = *open.tree->share->fs;
  const std::string path = open.path();
  if (open.is_stream || (!target.empty() && target[0] == ':')) {
    // Streams rename only to another stream of the same file (MS-FSA 2.1.5.14.11).
    if (!open.is_stream || target.empty() || target[0] != ':')
      return err(NtStatus::kInvalidParameter, "stream/file rename mix");
    StreamChange change(c.state().changes(), fs, path);
    std::string np = SD_TRY(fs.renameStream(path, target.substr(1), ri.replace_if_exists != 0));
    change.report(fscc::kFileActionRemovedStream, fscc::kNotifyChangeStreamName);
    change.report(fscc::kFileActionAddedStream, fscc::kNotifyChangeStreamName, np);
    // This open now names the stream by its new name (smbtorture smb2.streams.rename).
    SD_CHECK(fs.rebindStream(*open.handle, np));
    c.state().renameOpens(open.file_key, np);
    return ok();
  }
  // A rename acts on the parent directory as an open with DELETE access that does not share
  // delete would: other opens of the parent holding DELETE, or not sharing delete, make it a
  // sharing violation (Windows and Samba behaviour; smbtorture smb2.rename.*).
  {
    auto slash = path.rfind('/');
    std::string parent = slash == std::string::npos ? "" : path.substr(0, slash);
    constexpr uint32_t kDataAccess = smb2::kFileReadData | smb2::kFileWriteData |
                                     smb2::kFileAppendData | smb2::kFileExecute | smb2::kDelete;
    for (const auto& other : c.state().opensAtPath(open.tree->share.get(), parent)) {
      if (!other->is_directory || !(other->granted_access & kDataAccess)) continue;
      if ((other->granted_access & smb2::kDelete) || !(other->share_access & smb2::kFileShareDelete))
        return err(NtStatus::kSharingViolation, "parent directory open blocks the rename");
    }
  }
  // Other leases of the file, or of the files below a directory, give up Handle caching first
  // (their holders may then close what they keep open); the rename waits for their
  // acknowledgments, parked (MS-SMB2 3.3.1.4; smbtorture smb2.lease.v2_rename).
  if (c.state().leasesOn()) {
    auto keys = open.is_directory ? c.state().fileKeysBelow(open.tree->share.get(), path)
                                  : std::vector<uint64_t>{open.file_key};
    const LeaseId* own = open.lease ? &*open.lease : nullptr;
    if (!keys.empty() && c.parkUntil(r, handleSetInfo, [&](OplockTable::Resume resume) {
          return c.state().oplocks().breakHandleCaching(keys, std::move(resume), own);
        }))
      return ok();
  }
  // Renaming a directory while files beneath it are open is refused as Windows does.
  if (open.is_directory && c.state().hasOpenBelow(open.tree->share.get(), path))
    return err(NtStatus::kAccessDenied, "open files below directory");
  std::string new_path = SD_TRY(fs.rename(path, target, ri.replace_if_exists != 0));
  // The name left one directory and entered another (or the same): their leases break.
  breakParentDirectoryLeases(c.state(), fs, path, open.parent_lease);
  breakParentDirectoryLeases(c.state(), fs, new_path, open.parent_lease);
  c.state().renameOpens(open.file_key, new_path);
  if (!open.is_directory) open.renamed = true;
  // Watches follow a directory moved into a watched tree before the client goes on into it.
  c.state().changes().sync();
  return ok();
}

Status setDisposition(Connection& c, Open& open, bool del) {
  if (del) {
    if (!(open.granted_access & smb2::kDelete)) return err(NtStatus::kAccessDenied, "no DELETE");
    if (open.tree->read_only) return err(NtStatus::kAccessDenied, "read-only share");
    auto st = SD_TRY(open.handle->stat());
    if (!st.directory && (st.file_attributes & smb2::kFileAttributeReadonly))
      return err(NtStatus::kCannotDelete, "read-only file");
    if (st.directory) {
      bool empty = SD_TRY(open.tree->share->fs->isEmptyDir(*open.handle));
      if (!empty) return err(NtStatus::kDirectoryNotEmpty);
    }
  }
  c.state().setDeletePending(open.file_key, del);
  open.delete_on_close = del;
  return ok();
}

// MS-SMB2 3.3.5.21.3 with MS-FSA 2.1.5.16: each part needs its right on the open.
Status setSecurity(Open& open, bool read_only, uint32_t info, ByteView buf) {
  uint32_t need = 0;
  if (info & (fscc::kOwnerSecurityInformation | fscc::kGroupSecurityInformation |
              fscc::kLabelSecurityInformation))
    need |= smb2::kWriteOwner;
  if (info & fscc::kDaclSecurityInformation) need |= smb2::kWriteDac;
  if (info & fscc::kSaclSecurityInformation) need |= smb2::kAccessSystemSecurity;
  if ((open.granted_access & need) != need) return err(NtStatus::kAccessDenied, "set security rights");
  if (read_only) return err(NtStatus::kAccessDenied, "read-only share");
  auto update = fscc::decodeSecurityDescriptor(buf);
  if (!update) return err(NtStatus::kInvalidSecurityDescr, "security descriptor");
  info &= fscc::kOwnerSecurityInformation | fscc::kGroupSecurityInformation |
          fscc::kDaclSecurityInformation | fscc::kSaclSecurityInformation;
  if (!info) return ok();
  // The owner may be set only to a SID of the caller's token (Windows: its user or an owner
  // group; root may set any), STATUS_INVALID_OWNER otherwise.
  const UnixIdentity* id = open.tree->identity.get();
  if ((info & fscc::kOwnerSecurityInformation) && update->owner && !(id && id->isRoot())) {
    auto token = sessionToken(*open.tree->user, id);
    if (std::find(token.begin(), token.end(), *update->owner) == token.end() ||
        *update->owner == fscc::everyoneSid() || *update->owner == fscc::authenticatedUsersSid())
      return err(NtStatus::kInvalidOwner, "owner not in the caller's token");
  }
  auto& fs = *open.tree->share->fs;
  auto st = SD_TRY(open.handle->stat());
  auto stored = SD_TRY(fs.readSecurity(*open.handle));
  auto current = SD_TRY(effectiveDescriptor(stored, st));
  auto merged = fscc::mergeSecurityDescriptor(current, *update, info);
  // An owner or group that is a Unix account's SID (S-1-22-1-uid, S-1-22-2-gid) becomes the
  // file's Unix owner or group too, as Samba does; the kernel decides as for the caller (a user
  // may give their file to a group of theirs; only root may give it to another user).
  std::optional<uint32_t> uid, gid;
  if ((info & fscc::kOwnerSecurityInformation) && update->owner) {
    uid = fscc::uidOfUnixSid(*update->owner);
    if (uid && *uid == st.uid) uid.reset();
  }
  if ((info & fscc::kGroupSecurityInformation) && update->group) {
    gid = fscc::gidOfUnixSid(*update->group);
    if (gid && *gid == st.gid) gid.reset();
  }
  SD_CHECK(fs.setOwner(*open.handle, uid, gid));
  return fs.writeSecurity(*open.handle, fscc::encodeSecurityDescriptor(merged));
}

}  // namespace

Status handleSetInfo(Connection& c, Request& r) {
  auto req = SD_TRY(smb2::decodeSetInfoRequest(r.msg));
  auto open = SD_TRY(c.openOf(r, req.file_id));
  if (open->pipe) return err(NtStatus::kNotSupported, "pipe");
  std::lock_guard<std::mutex> lk(open->mu);
  if (req.info_type == smb2::kInfoSecurity) {
    SD_CHECK(setSecurity(*open, r.tree->read_only, req.additional_information, req.buffer));
    smb2::encodeSetInfoResponse(smb2::SetInfoResponse{}, r.out);
    return ok();
  }
  if (req.info_type != smb2::kInfoFile) return err(NtStatus::kNotSupported, "info type");
  auto& h = *open->handle;
  auto needWrite = [&]() -> Status {
    if (r.tree->read_only) return err(NtStatus::kAccessDenied, "read-only share");
    return ok();
  };
  switch (req.file_info_class) {
    case fscc::kFileBasicInformation: {
      auto b = SD_TRY(fscc::decodeFileBasicInformation(req.buffer));
      if (!(open->granted_access & smb2::kFileWriteAttributes))
        return err(NtStatus::kAccessDenied, "no FILE_WRITE_ATTRIBUTES");
      SD_CHECK(needWrite());
      SD_CHECK(open->tree->share->fs->setBasicInfo(h, b.creation_time, b.last_access_time,
                                                   b.last_write_time, b.change_time,
                                                   b.file_attributes));
      break;
    }
    case fscc::kFileEndOfFileInformation: {
      auto e = SD_TRY(fscc::decodeFileEndOfFileInformation(req.buffer));
      if (!(open->granted_access & smb2::kFileWriteData)) return err(NtStatus::kAccessDenied);
      SD_CHECK(needWrite());
      std::optional<StreamChange> stream_change;
      if (open->is_stream) stream_change.emplace(c.state().changes(), *open->tree->share->fs, open->path());
      SD_CHECK(h.truncate(e));
      if (stream_change) stream_change->report(fscc::kFileActionModifiedStream, fscc::kNotifyChangeStreamSize);
      c.state().oplocks().breakLevelII(open->file_key, open->lease ? &*open->lease : nullptr);  // cached reads are stale
      break;
    }
    case fscc::kFileAllocationInformation: {
      auto a = SD_TRY(fscc::decodeFileAllocationInformation(req.buffer));
      if (!(open->granted_access & smb2::kFileWriteData)) return err(NtStatus::kAccessDenied);
      SD_CHECK(needWrite());
      SD_CHECK(h.setAllocationSize(a));
      c.state().oplocks().breakLevelII(open->file_key, open->lease ? &*open->lease : nullptr);
      break;
    }
    case fscc::kFileRenameInformation:
      SD_CHECK(setRename(c, r, *open, req.buffer));
      if (r.async_id) return ok();  // parked until lease breaks settle
      break;
    case fscc::kFileDispositionInformation: {
      bool del = SD_TRY(fscc::decodeFileDispositionInformation(req.buffer));
      SD_CHECK(setDisposition(c, *open, del));
      break;
    }
    case fscc::kFileDispositionInformationEx: {
      uint32_t flags = SD_TRY(fscc::decodeFileDispositionInformationEx(req.buffer));
      SD_CHECK(setDisposition(c, *open, flags & fscc::kFileDispositionDelete));
      break;
    }
    case fscc::kFilePositionInformation:
      open->position = SD_TRY(fscc::decodeFilePositionInformation(req.buffer));
      break;
    case fscc::kFileModeInformation:
      open->mode = SD_TRY(fscc::decodeFileModeInformation(req.buffer));
      break;
    case fscc::kFileFullEaInformation: {
      if (!(open->granted_access & smb2::kFileWriteEa)) return err(NtStatus::kAccessDenied, "no FILE_WRITE_EA");
      SD_CHECK(needWrite());
      auto eas = SD_TRY(fscc::decodeFileFullEaInformation(req.buffer));
      for (const auto& ea : eas) SD_CHECK(open->tree->share->fs->setEa(h, ea.ea_name, ea.ea_value));
      break;
    }
    case fscc::kFileLinkInformation:
      return err(NtStatus::kNotSupported, "hard links");
    default:
      return err(NtStatus::kInvalidInfoClass, "set info class");
  }
  // A child's attributes, times or size are what its directory's listing shows.
  if (req.file_info_class == fscc::kFileBasicInformation || req.file_info_class == fscc::kFileEndOfFileInformation ||
      req.file_info_class == fscc::kFileAllocationInformation)
    breakParentDirectoryLeases(c.state(), *open);
  smb2::encodeSetInfoResponse(smb2::SetInfoResponse{}, r.out);
  return ok();
}

}  // namespace sd::server
