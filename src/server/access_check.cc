// The simplified MS-DTYP 2.5.3.2 access check lives in fscc (grantedAccess); this file applies it
// to CREATE: which descriptor governs, which parent rights count, and what a new file inherits.
#include "server/access_check.h"

#include <unistd.h>

#include "smb2/constants.h"

namespace sd::server {

std::vector<fscc::Sid> sessionToken(const SessionUser& s, const UnixIdentity* id) {
  uint32_t uid = id ? uint32_t(id->uid) : uint32_t(geteuid());
  uint32_t gid = id ? uint32_t(id->gid) : uint32_t(getegid());
  std::vector<fscc::Sid> t{fscc::unixUserSid(uid), fscc::unixGroupSid(gid)};
  if (id)
    for (gid_t g : id->groups)
      if (g != id->gid) t.push_back(fscc::unixGroupSid(uint32_t(g)));
  t.push_back(fscc::everyoneSid());
  if (!s.guest && !s.anonymous) t.push_back(fscc::authenticatedUsersSid());
  return t;
}

Result<fscc::SecurityDescriptor> effectiveDescriptor(const std::optional<Bytes>& stored,
                                                     const vfs::FileStat& st) {
  if (!stored)
    return fscc::posixSecurityDescriptor(st.uid, st.gid, st.mode, st.directory,
                                         fscc::kOwnerSecurityInformation |
                                             fscc::kGroupSecurityInformation |
                                             fscc::kDaclSecurityInformation);
  auto sd = fscc::decodeSecurityDescriptor(*stored);
  // A stored descriptor we cannot read must not open the file to everyone.
  if (!sd) return err(NtStatus::kAccessDenied, "stored security descriptor unreadable");
  return *sd;
}

Result<CreateAccess> checkCreateAccess(const vfs::Share::SecurityLookup& look,
                                       const std::vector<fscc::Sid>& token, uint32_t requested,
                                       bool maximum_allowed, uint32_t tree_maximal,
                                       uint32_t disposition, bool directory) {
  CreateAccess out;
  out.granted_access = requested | (maximum_allowed ? tree_maximal : 0);
  if (look.parent_descriptor) out.parent = SD_TRY(effectiveDescriptor(look.parent_descriptor, look.parent_stat));
  if (look.exists) {
    if (!look.descriptor || disposition == smb2::kFileCreate) return out;
    auto sd = SD_TRY(effectiveDescriptor(look.descriptor, look.stat));
    uint32_t granted = fscc::grantedAccess(sd, token);
    if (look.parent_exists) {
      // MS-FSA 2.1.5.1.2.1: DELETE may come from the parent's FILE_DELETE_CHILD, and
      // FILE_READ_ATTRIBUTES from its FILE_LIST_DIRECTORY.
      auto parent = SD_TRY(effectiveDescriptor(look.parent_descriptor, look.parent_stat));
      uint32_t pg = fscc::grantedAccess(parent, token);
      if (pg & smb2::kFileDeleteChild) granted |= smb2::kDelete;
      if (pg & smb2::kFileListDirectory) granted |= smb2::kFileReadAttributes;
    }
    // ACCESS_SYSTEM_SECURITY is a privilege, not a DACL right: share-level access decides it.
    // Overwriting an existing file writes it whatever the open asked for (MS-FSA 2.1.5.1.2.1).
    uint32_t needed = requested;
    if (disposition == smb2::kFileSupersede || disposition == smb2::kFileOverwrite ||
        disposition == smb2::kFileOverwriteIf)
      needed |= smb2::kFileWriteData;
    if (needed & ~granted & ~smb2::kAccessSystemSecurity)
      return err(NtStatus::kAccessDenied, "denied by the file's DACL");
    if (maximum_allowed) {
      out.granted_access = requested | (granted & tree_maximal);
      if (!out.granted_access) return err(NtStatus::kAccessDenied, "DACL grants nothing");
    }
    return out;
  }
  if (disposition == smb2::kFileOpen || disposition == smb2::kFileOverwrite) return out;
  if (out.parent) {
    uint32_t need = directory ? smb2::kFileAddSubdirectory : smb2::kFileAddFile;
    if (!(fscc::grantedAccess(*out.parent, token) & need))
      return err(NtStatus::kAccessDenied, "parent DACL does not allow adding");
  }
  return out;
}

std::optional<fscc::SecurityDescriptor> newFileDescriptor(
    const std::optional<fscc::SecurityDescriptor>& from_context,
    const std::optional<fscc::SecurityDescriptor>& parent, const std::vector<fscc::Sid>& token,
    const vfs::FileStat& st) {
  const fscc::Sid& user = token[0];
  const fscc::Sid& group = token[1];
  std::optional<fscc::Acl> inherited;
  if (parent) inherited = fscc::inheritedDacl(*parent, st.directory, user, group);
  if (!from_context && !inherited) return std::nullopt;
  fscc::SecurityDescriptor sd;
  if (from_context) sd = *from_context;
  sd.control |= fscc::kSeSelfRelative;
  if (!sd.owner) sd.owner = user;
  if (!sd.group) sd.group = group;
  if (!(sd.control & fscc::kSeDaclPresent)) {
    if (inherited) {
      sd.dacl = std::move(inherited);
      if (parent->control & fscc::kSeDaclAutoInherited) sd.control |= fscc::kSeDaclAutoInherited;
    } else {
      sd.dacl = fscc::posixSecurityDescriptor(st.uid, st.gid, st.mode, st.directory,
                                              fscc::kDaclSecurityInformation)
                    .dacl;
    }
    sd.control |= fscc::kSeDaclPresent;
  }
  return sd;
}

}  // namespace sd::server
