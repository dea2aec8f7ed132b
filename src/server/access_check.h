// Per-file access control from stored NT security descriptors: the session's access token, the
// descriptor in force for a file (stored, or synthesised from its POSIX owner and mode), and the
// CREATE-time access check (MS-SMB2 3.3.5.9, MS-FSA 2.1.5.1.2, MS-DTYP 2.5.3.2).
//
// The token holds the SIDs of the Unix account the request acts as (server/unix_identity.h):
// S-1-22-1-<uid>, S-1-22-2-<gid> and one S-1-22-2-<gid> per supplementary group, as Samba maps
// Unix ids; then Everyone and, unless guest or anonymous, Authenticated Users. When smbdirectd
// cannot switch identities (not root) every session acts as its own account and holds its ids.
// Pure functions; any thread.
#pragma once
#include <cstdint>
#include <optional>
#include <vector>

#include "base/result.h"
#include "fscc/security_descriptor.h"
#include "server/session.h"
#include "vfs/share.h"

namespace sd::server {

// The SIDs of a session: user first, primary group second, then the groups.
// `id` is the tree's identity (null: the server's own account).
std::vector<fscc::Sid> sessionToken(const SessionUser& s, const UnixIdentity* id);

// The stored descriptor decoded, or the one synthesised from POSIX (all four parts).
Result<fscc::SecurityDescriptor> effectiveDescriptor(const std::optional<Bytes>& stored,
                                                     const vfs::FileStat& st);

// What CREATE decides before it touches the file system (MS-SMB2 3.3.5.9 with MS-FSA 2.1.5.1.2).
struct CreateAccess {
  uint32_t granted_access = 0;  // the open's GrantedAccess
  // The parent's stored descriptor, from which a new file inherits (MS-DTYP 2.5.3.4).
  std::optional<fscc::SecurityDescriptor> parent;
};
// `requested` is DesiredAccess with generic rights mapped and MAXIMUM_ALLOWED removed;
// `maximum_allowed` says it was asked for (without a stored descriptor it means `tree_maximal`). For an existing file with a stored
// descriptor every requested right (and FILE_WRITE_DATA when the disposition overwrites) must be
// granted by its DACL, DELETE also through the parent's
// FILE_DELETE_CHILD and FILE_READ_ATTRIBUTES through its FILE_LIST_DIRECTORY; MAXIMUM_ALLOWED
// becomes what the descriptor grants (within `tree_maximal`). A new name under a parent with a
// stored descriptor needs FILE_ADD_FILE / FILE_ADD_SUBDIRECTORY there. STATUS_ACCESS_DENIED
// otherwise. Files and parents without stored descriptors keep share-level access only.
Result<CreateAccess> checkCreateAccess(const vfs::Share::SecurityLookup& look,
                                       const std::vector<fscc::Sid>& token, uint32_t requested,
                                       bool maximum_allowed, uint32_t tree_maximal,
                                       uint32_t disposition, bool directory);

// The descriptor a newly created file gets, or nullopt to store none: the SecD create context's
// (missing owner/group from the token, a missing DACL inherited from the parent or synthesised
// from POSIX), else one inheriting from the parent's stored descriptor when it passes ACEs on.
std::optional<fscc::SecurityDescriptor> newFileDescriptor(
    const std::optional<fscc::SecurityDescriptor>& from_context,
    const std::optional<fscc::SecurityDescriptor>& parent, const std::vector<fscc::Sid>& token,
    const vfs::FileStat& st);

}  // namespace sd::server
